/**
 * Verification of a generated sequence: every step's proof is valid, all steps carry the same nonce,
 * and each step's output state is the next step's input state, so the proven tokens are exactly the
 * ones generated, in order, from the first window on.
 */
import type { CircuitManifest } from "../model/circuit-manifest.js";
import { decodePublicSignals } from "../witness/circuit-input.js";
import type { ProofFile } from "./prove.js";
import { verifyProof, type VerifyResult } from "./verify.js";

export interface TraceResult extends VerifyResult {
  /** The proven tokens, in order (only when valid). */
  readonly tokens?: readonly number[];
}

export async function verifyTrace(
  manifest: CircuitManifest,
  vkey: Record<string, unknown>,
  steps: readonly ProofFile[],
): Promise<TraceResult> {
  if (manifest.kind !== "token-step")
    return { valid: false, reason: `model ${manifest.model_id} does not prove decoding steps` };
  if (steps.length === 0) return { valid: false, reason: "a trace needs at least one step" };
  const tokens: number[] = [];
  for (const [k, step] of steps.entries()) {
    const result = await verifyProof(manifest, vkey, step);
    if (!result.valid) return { valid: false, reason: `step ${k}: ${result.reason}` };
    const decoded = decodePublicSignals(manifest, step.public_signals.map(BigInt));
    if (decoded.kind !== "token-step") return { valid: false, reason: `step ${k} is not a decoding step` };
    if (k > 0) {
      const previous = steps[k - 1];
      if (step.public_signals[0] !== previous.public_signals[1])
        return { valid: false, reason: `step ${k} does not start from the state step ${k - 1} ended in` };
    }
    tokens.push(decoded.next_token);
  }
  return { valid: true, reason: `valid trace of ${steps.length} steps`, tokens };
}
