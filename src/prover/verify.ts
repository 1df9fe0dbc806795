/**
 * Verification of a proof file: the Groth16 pairing check against the model's verification key, and
 * the claims around it — that the key is the one the file names, and that the public signals say
 * exactly what the file says. Every claimed value must be canonical (a nonce below its bound, every
 * input value in the model's domain, an output the model can produce), because packed or hashed
 * values have other writings that produce the same signals: a feature of 2 is the next feature's 1, a
 * token ≥ 2^bits spills into the nonce, a nonce + p hashes as the nonce. Returns a reason naming the
 * field instead of throwing.
 */
import * as snarkjs from "snarkjs";
import type { CircuitManifest } from "../model/circuit-manifest.js";
import { vkeyHash } from "../snark/vkey-hash.js";
import { FIELD_PRIME } from "../snark/field.js";
import { sharedBn128 } from "../snark/snark-workers.js";
import { requestNonce, sampleContentHash } from "../core/request-binding.js";
import { checkIntegerInput } from "../model/integer-model.js";
import {
  decodePublicSignals,
  expectedPublicSignals,
  nonceBits,
  type DecodedSignals,
} from "../witness/circuit-input.js";
import type { NonceLedger } from "./nonce-ledger.js";
import type { ClaimedProof } from "./prove.js";

export interface VerifyResult {
  readonly valid: boolean;
  readonly reason: string;
}

export interface VerifyOptions {
  /** When given, the inference (model, input commitment or first state) must be new to it; a valid proof records it. */
  readonly ledger?: NonceLedger;
}

const invalid = (reason: string): VerifyResult => ({ valid: false, reason });
const DECIMAL = /^(0|[1-9][0-9]*)$/;

export async function verifyProof(
  manifest: CircuitManifest,
  vkey: Record<string, unknown>,
  file: ClaimedProof,
  options: VerifyOptions = {},
): Promise<VerifyResult> {
  if (file.model_id !== manifest.model_id)
    return invalid(`proof is for model ${file.model_id}, key is for ${manifest.model_id}`);
  if (file.vkey_hash !== manifest.vkey_hash)
    return invalid(`vkey_hash: the file names key ${file.vkey_hash}, the model's key is ${manifest.vkey_hash}`);
  if (vkeyHash(vkey) !== manifest.vkey_hash) return invalid("verification key does not match the model's vkey_hash");
  if (file.kind !== manifest.kind) return invalid(`kind: the file says ${file.kind}, the circuit is ${manifest.kind}`);
  if (file.public_signals.length !== manifest.public_signals.length) {
    return invalid(`${file.public_signals.length} public signals; the circuit has ${manifest.public_signals.length}`);
  }
  if (!file.public_signals.every((s) => typeof s === "string" && DECIMAL.test(s) && BigInt(s) < FIELD_PRIME)) {
    return invalid("public signals are not field elements in decimal");
  }
  const signals = file.public_signals.map((s) => BigInt(s));
  // snarkjs throws on malformed proof points; that is an invalid proof, not an error
  await sharedBn128();
  const ok = await snarkjs.groth16.verify(vkey, file.public_signals, file.proof).catch(() => false);
  if (!ok) return invalid("the Groth16 pairing check fails for these public signals");
  const decoded = decodePublicSignals(manifest, signals);
  const misstated = await misstatedClaim(manifest, file, signals, decoded);
  if (misstated) return invalid(misstated);
  if (options.ledger && !(await options.ledger.claim(manifest.model_id, replayKey(manifest, signals)))) {
    return invalid(`this inference (its nonce and input) was already accepted for this model (replay)`);
  }
  const said =
    decoded.kind === "token-step"
      ? { next_token: decoded.next_token }
      : decoded.kind === "classify"
        ? { label: decoded.label }
        : { outputs: decoded.outputs };
  return {
    valid: true,
    reason: `valid under vkey_hash ${manifest.vkey_hash} (model ${manifest.model_id}): ${JSON.stringify(said)}`,
  };
}

/** The first claim of the file that its signals do not say, canonically; null when every claim holds. */
async function misstatedClaim(
  manifest: CircuitManifest,
  file: ClaimedProof,
  signals: readonly bigint[],
  decoded: DecodedSignals,
): Promise<string | null> {
  const bits = nonceBits(manifest);
  if (typeof file.nonce !== "string" || !DECIMAL.test(file.nonce))
    return `nonce: ${JSON.stringify(file.nonce)} is not a decimal integer`;
  const nonce = BigInt(file.nonce);
  if (nonce >= 1n << BigInt(bits))
    return `nonce: ${file.nonce} is not below 2^${bits}, so it is not the canonical nonce`;
  if (!Array.isArray(file.input)) return "input: not a list of integers";
  const inputReason = checkIntegerInput(manifest.input, file.input);
  if (inputReason) return `input: ${inputReason}`;
  const outputReason = outputDomain(manifest, file.output);
  if (outputReason) return `output: ${outputReason}`;
  if (decoded.kind === "token-step") {
    if (decoded.nonce !== file.nonce)
      return `nonce: the signals carry nonce ${decoded.nonce}, the file says ${file.nonce}`;
    const bad = decoded.context.findIndex((t, i) => t !== file.input[i]);
    if (bad >= 0)
      return `input: the signals carry token ${decoded.context[bad]} at ${bad}, the file says ${file.input[bad]}`;
    if (decoded.next_token !== file.output)
      return `output: the signals carry next token ${decoded.next_token}, the file says ${JSON.stringify(file.output)}`;
  } else if (decoded.kind === "classify") {
    if (decoded.label !== file.output)
      return `output: the signals carry label ${decoded.label}, the file says ${JSON.stringify(file.output)}`;
  } else if (JSON.stringify(decoded.outputs) !== JSON.stringify(file.output)) {
    return `output: the signals carry outputs [${decoded.outputs.join(", ")}], the file says ${JSON.stringify(file.output)}`;
  }
  // every field read back agrees; what is left is the commitment (or a state's spare bits)
  const expected = await expectedPublicSignals(manifest, file.input, nonce, file.output);
  const differs = expected.findIndex((e, i) => e !== signals[i]);
  if (differs >= 0) {
    const name = manifest.public_signals[differs]?.name ?? `signal ${differs}`;
    return decoded.kind === "token-step"
      ? `${name}: not the state of the file's input, nonce and output`
      : `${name}: the input commitment is not Poseidon(model, nonce, input) of the file's input and nonce`;
  }
  if (file.request !== undefined) return requestBinding(manifest, file, nonce, bits);
  return null;
}

function outputDomain(manifest: CircuitManifest, output: unknown): string | null {
  if (manifest.output === "argmax") {
    const index = output as number;
    return Number.isInteger(index) && index >= 0 && index < manifest.classes
      ? null
      : `${JSON.stringify(output)} is not a class index in [0, ${manifest.classes})`;
  }
  if (!Array.isArray(output) || output.length !== manifest.classes || !output.every(Number.isInteger))
    return `not ${manifest.classes} integer logits`;
  return null;
}

/** A file that names its request's content and salt: its nonce must be the one they make (src/core/request-binding.ts). */
function requestBinding(manifest: CircuitManifest, file: ClaimedProof, nonce: bigint, bits: number): string | null {
  const { content_hash: contentHash, salt } = file.request ?? {};
  const bytes32 = /^0x[0-9a-fA-F]{64}$/;
  if (typeof contentHash !== "string" || !bytes32.test(contentHash))
    return "request.content_hash: not a 32-byte hex string";
  if (typeof salt !== "string" || !bytes32.test(salt)) return "request.salt: not a 32-byte hex string";
  if (requestNonce(contentHash, salt, bits) !== nonce)
    return "nonce: not the nonce that request.content_hash and request.salt make";
  // a tensor model's content is its sample, which the file holds; a text's or a prompt's bytes it does not
  if (manifest.kind === "tensor" && sampleContentHash(file.input) !== contentHash)
    return "request.content_hash: not the hash of the file's input";
  return null;
}

/**
 * What names one inference, read from the signals: the input commitment (the classify claim without
 * its label bits) or the state a step starts from. Both hold the canonical nonce and input, so a
 * restated nonce cannot get the same proof accepted twice.
 */
export function replayKey(manifest: CircuitManifest, signals: readonly bigint[]): string {
  const p = manifest.packing;
  if (p.kind === "classify") return ((signals[0] >> BigInt(p.valueBits)) << BigInt(p.valueBits)).toString();
  return signals[0].toString();
}
