/**
 * Verification of a proof file: the Groth16 pairing check against the model's verification key, and
 * the claims around it — that the key is the one the file names, and that the public signals say
 * what the file says (its input, nonce and output). Returns a reason instead of throwing.
 */
import * as snarkjs from "snarkjs";
import { vkeyHash, type CircuitManifest } from "../circuit/compile.js";
import { sharedBn128 } from "../circuit/snark-workers.js";
import { decodePublicSignals, expectedPublicSignals } from "../witness/circuit-input.js";
import type { NonceLedger } from "./nonce-ledger.js";
import type { ProofFile } from "./prove.js";

export interface VerifyResult {
  readonly valid: boolean;
  readonly reason: string;
}

export interface VerifyOptions {
  /** When given, the (model, nonce) pair must be new to it; a valid proof records it. */
  readonly ledger?: NonceLedger;
}

export async function verifyProof(manifest: CircuitManifest, vkey: Record<string, unknown>, file: ProofFile, options: VerifyOptions = {}): Promise<VerifyResult> {
  if (file.model_id !== manifest.model_id) return { valid: false, reason: `proof is for model ${file.model_id}, key is for ${manifest.model_id}` };
  if (vkeyHash(vkey) !== manifest.vkey_hash) return { valid: false, reason: "verification key does not match the model's vkey_hash" };
  if (file.public_signals.length !== manifest.public_signals.length) return { valid: false, reason: `${file.public_signals.length} public signals; the circuit has ${manifest.public_signals.length}` };
  let signals: bigint[];
  try {
    signals = file.public_signals.map((s) => BigInt(s));
  } catch {
    return { valid: false, reason: "public signals are not integers" };
  }
  // snarkjs throws on malformed proof points; that is an invalid proof, not an error
  await sharedBn128();
  const ok = await snarkjs.groth16.verify(vkey, file.public_signals, file.proof).catch(() => false);
  if (!ok) return { valid: false, reason: "the Groth16 pairing check fails for these public signals" };
  const expected = await expectedPublicSignals(manifest, file.input, BigInt(file.nonce), file.output);
  if (expected.some((e, i) => e !== signals[i])) return { valid: false, reason: "the proof is valid but for another input, nonce or output than the file states" };
  if (options.ledger && !(await options.ledger.claim(manifest.model_id, file.nonce))) return { valid: false, reason: `nonce ${file.nonce} was already used for this model (replay)` };
  const decoded = decodePublicSignals(manifest, signals);
  return { valid: true, reason: `valid: ${JSON.stringify(decoded.kind === "token-step" ? { next_token: decoded.next_token } : decoded.kind === "classify" ? { label: decoded.label } : { outputs: decoded.outputs })}` };
}
