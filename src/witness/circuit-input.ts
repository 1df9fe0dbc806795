/**
 * Tensor ↔ field elements for a compiled circuit: the circuit's input (the sample, the nonce and the
 * hinted linear-layer outputs from the integer reference), and the public signals that sample, nonce
 * and output must produce (computed here independently, with circomlibjs's Poseidon).
 */
import { buildPoseidon } from "circomlibjs";
import type { CircuitManifest } from "../model/circuit-manifest.js";
import { FIELD_PRIME } from "../snark/field.js";
import { HASHED_NONCE_BITS } from "../core/request-binding.js";
import { argmaxFirst, traceIntegerModel, type IntegerModel } from "../model/integer-model.js";
import type { CircuitInput } from "./witness-calculator.js";

export type ProvenOutput = number | readonly number[];

/** A signed integer as a field element. */
export function toField(v: number | bigint): bigint {
  const b = BigInt(v);
  return ((b % FIELD_PRIME) + FIELD_PRIME) % FIELD_PRIME;
}

export interface PreparedInput {
  readonly input: CircuitInput;
  /** What the circuit proves: the arg-max index, or every logit. */
  readonly output: ProvenOutput;
}

/**
 * How many bits a canonical nonce has: the state's nonce slot for token-step circuits, 248 for the
 * hashed ones. One nonce, one number: a nonce ± p (or a shifted one) hashes or packs the same, so no
 * other writing of it is accepted.
 */
export function nonceBits(manifest: CircuitManifest): number {
  return manifest.packing.kind === "token-step" ? manifest.packing.nonceBits : HASHED_NONCE_BITS;
}

export function buildCircuitInput(manifest: CircuitManifest, model: IntegerModel, sample: readonly number[], nonce: bigint): PreparedInput {
  const bits = nonceBits(manifest);
  if (nonce < 0n || nonce >= 1n << BigInt(bits)) throw new RangeError(`nonce must be in [0, 2^${bits}) for ${manifest.model_id.slice(0, 12)}`);
  const trace = traceIntegerModel(model, sample);
  const input: Record<string, bigint | bigint[]> = { [manifest.input_signal]: sample.map(toField), nonce: toField(nonce) };
  for (const hint of manifest.hints) input[hint.signal] = Array.from(trace[hint.layer], toField);
  const logits = trace[trace.length - 1];
  return { input, output: manifest.output === "argmax" ? argmaxFirst(logits) : Array.from(logits) };
}

let poseidonPromise: ReturnType<typeof buildPoseidon> | undefined;

/** Poseidon chained 16 then 15 words at a time, the running hash first (circuits/commitment.circom). */
export async function hashWords(words: readonly bigint[]): Promise<bigint> {
  poseidonPromise ??= buildPoseidon();
  const poseidon = await poseidonPromise;
  let acc = poseidon.F.toObject(poseidon(words.slice(0, 16)));
  for (let k = 16; k < words.length; k += 15) acc = poseidon.F.toObject(poseidon([acc, ...words.slice(k, k + 15)]));
  return acc;
}

function pack(values: readonly number[], bits: number, offset: number, perWord: number): bigint[] {
  const words: bigint[] = [];
  for (let w = 0; w * perWord < values.length; w++) {
    let word = 0n;
    values.slice(w * perWord, (w + 1) * perWord).forEach((v, k) => (word += BigInt(v - offset) << BigInt(bits * k)));
    words.push(word);
  }
  return words;
}

/** The input commitment of a classify/tensor circuit: Poseidon(model_id, nonce, packed input). */
export async function inputCommitment(manifest: CircuitManifest, sample: readonly number[], nonce: bigint): Promise<bigint> {
  const p = manifest.packing;
  if (p.kind === "token-step") throw new Error("token-step circuits carry their input in the state, not a commitment");
  return hashWords([BigInt(manifest.model_id_field), toField(nonce), ...pack(sample, p.inputBits, p.inputOffset, p.perWord)]);
}

/** The public signals a valid proof of (sample, nonce) → output must carry, in circuit order. */
export async function expectedPublicSignals(manifest: CircuitManifest, sample: readonly number[], nonce: bigint, output: ProvenOutput): Promise<bigint[]> {
  const p = manifest.packing;
  if (p.kind === "token-step") {
    const state = (tokens: readonly number[]) => tokens.reduce((acc, t, i) => acc + (BigInt(t) << BigInt(p.tokenBits * i)), nonce << BigInt(p.tokenBits * p.context));
    return [state(sample), state([...sample.slice(1), output as number])];
  }
  const commitment = await inputCommitment(manifest, sample, nonce);
  if (p.kind === "classify") return [((commitment >> BigInt(p.valueBits)) << BigInt(p.valueBits)) + BigInt(output as number)];
  return [commitment, ...pack(output as readonly number[], p.outputBits, p.outputOffset, p.outputsPerWord)];
}

export type DecodedSignals =
  | { readonly kind: "token-step"; readonly context: number[]; readonly next_token: number; readonly nonce: string; readonly state_in: string; readonly state_out: string }
  | { readonly kind: "classify"; readonly label: number; readonly claim: string }
  | { readonly kind: "tensor"; readonly commitment: string; readonly outputs: number[] };

/** Reads what public signals say, without trusting anything else. */
export function decodePublicSignals(manifest: CircuitManifest, signals: readonly bigint[]): DecodedSignals {
  const p = manifest.packing;
  if (signals.length !== manifest.public_signals.length) throw new RangeError(`${signals.length} public signals; the circuit has ${manifest.public_signals.length}`);
  const field = (v: bigint, shift: number, bits: number) => Number((v >> BigInt(shift)) & ((1n << BigInt(bits)) - 1n));
  if (p.kind === "token-step") {
    const [stateIn, stateOut] = signals;
    const context = Array.from({ length: p.context }, (_, i) => field(stateIn, p.tokenBits * i, p.tokenBits));
    return {
      kind: "token-step",
      context,
      next_token: field(stateOut, p.tokenBits * (p.context - 1), p.tokenBits),
      nonce: (stateIn >> BigInt(p.tokenBits * p.context)).toString(),
      state_in: stateIn.toString(),
      state_out: stateOut.toString(),
    };
  }
  if (p.kind === "classify") return { kind: "classify", label: field(signals[0], 0, p.valueBits), claim: signals[0].toString() };
  const outputs: number[] = [];
  signals.slice(1).forEach((word) => {
    for (let k = 0; k < p.outputsPerWord && outputs.length < manifest.classes; k++) outputs.push(field(word, p.outputBits * k, p.outputBits) + p.outputOffset);
  });
  return { kind: "tensor", commitment: signals[0].toString(), outputs };
}
