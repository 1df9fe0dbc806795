/**
 * One Groth16 proof of one inference: witness in-process from the circuit's wasm, then snarkjs's
 * prover on the proving key. The public signals are checked against the ones computed independently
 * from the sample, nonce and output, so a mismatch never leaves the prover.
 */
import { randomBytes } from "node:crypto";
import * as snarkjs from "snarkjs";
import type { Groth16Proof } from "snarkjs";
import { buildCircuitInput, expectedPublicSignals, type ProvenOutput } from "../witness/circuit-input.js";
import type { CompiledModel } from "./compiled-model.js";
import type { SnarkLogger } from "../snark/snark-logger.js";
import { sharedBn128 } from "../snark/snark-workers.js";

export interface ProveOptions {
  /** The integer sample (token ids, bits, or quantized values). */
  readonly sample: readonly number[];
  /** @defaultValue 64 random bits */
  readonly nonce?: bigint;
  readonly logger?: SnarkLogger;
}

export interface ProofFile {
  readonly object: "proofgate.proof";
  readonly model_id: string;
  readonly vkey_hash: string;
  readonly kind: string;
  readonly input: readonly number[];
  readonly nonce: string;
  readonly output: ProvenOutput;
  readonly public_signals: readonly string[];
  readonly proof: Groth16Proof;
  readonly timings: { readonly witness_ms: number; readonly prove_ms: number };
  /** What the nonce commits to, when it is a request's (src/core/request-binding.ts): checked by `verify`. */
  readonly request?: { readonly content_hash: string; readonly salt: string };
}

export function randomNonce(): bigint {
  return BigInt(`0x${randomBytes(8).toString("hex")}`);
}

export async function prove(compiled: CompiledModel, options: ProveOptions): Promise<ProofFile> {
  const nonce = options.nonce ?? randomNonce();
  const t0 = performance.now();
  const { input, output } = buildCircuitInput(compiled.manifest, compiled.model, options.sample, nonce);
  const wtns = await compiled.witness.wtns(input);
  const t1 = performance.now();
  await sharedBn128();
  const { proof, publicSignals } = await snarkjs.groth16.prove({ type: "mem", data: compiled.zkey }, { type: "mem", data: wtns }, options.logger);
  const t2 = performance.now();
  const expected = (await expectedPublicSignals(compiled.manifest, options.sample, nonce, output)).map(String);
  if (expected.join() !== publicSignals.join()) throw new Error(`internal: public signals ${publicSignals.join(",")} differ from the expected ${expected.join(",")}`);
  return {
    object: "proofgate.proof",
    model_id: compiled.manifest.model_id,
    vkey_hash: compiled.manifest.vkey_hash,
    kind: compiled.manifest.kind,
    input: [...options.sample],
    nonce: nonce.toString(),
    output,
    public_signals: publicSignals,
    proof,
    timings: { witness_ms: Math.round((t1 - t0) * 10) / 10, prove_ms: Math.round((t2 - t1) * 10) / 10 },
  };
}
