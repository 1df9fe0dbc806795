/**
 * One Groth16 proof of one inference: witness in-process from the circuit's wasm, then snarkjs's
 * prover on the proving key. The public signals are checked against the ones computed independently
 * from the sample, nonce and output, so a mismatch never leaves the prover.
 */
import { randomBytes } from "node:crypto";
import * as snarkjs from "snarkjs";
import type { Groth16Proof } from "snarkjs";
import { z } from "zod";
import { buildCircuitInput, expectedPublicSignals } from "../witness/circuit-input.js";
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

/** A proof file as `proofgate prove` writes it and `proofgate verify` reads it: its shape; what its values say is verifyProof's to check. */
export const ProofFile = z.object({
  object: z.literal("proofgate.proof"),
  model_id: z.string(),
  vkey_hash: z.string(),
  kind: z.string(),
  input: z.array(z.number()).readonly(),
  nonce: z.string(),
  /** ProvenOutput of witness/circuit-input.ts. */
  output: z.union([z.number(), z.array(z.number()).readonly()]),
  public_signals: z.array(z.string()).readonly(),
  /** Any object: a malformed proof is an invalid proof (snarkjs refuses it), not a malformed file. */
  proof: z.custom<Groth16Proof>((v) => typeof v === "object" && v !== null && !Array.isArray(v)),
  timings: z.object({ witness_ms: z.number(), prove_ms: z.number() }),
  /** What the nonce commits to, when it is a request's (src/core/request-binding.ts): checked by `verify`. */
  request: z.object({ content_hash: z.string(), salt: z.string() }).optional(),
});
export type ProofFile = z.infer<typeof ProofFile>;
/** What a verifier reads of a proof file: its timings are no claim. */
export type ClaimedProof = Omit<ProofFile, "timings">;

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
  const { proof, publicSignals } = await snarkjs.groth16.prove(
    { type: "mem", data: compiled.zkey },
    { type: "mem", data: wtns },
    options.logger,
  );
  const t2 = performance.now();
  const expected = (await expectedPublicSignals(compiled.manifest, options.sample, nonce, output)).map(String);
  if (expected.join() !== publicSignals.join())
    throw new Error(
      `internal: public signals ${publicSignals.join(",")} differ from the expected ${expected.join(",")}`,
    );
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
