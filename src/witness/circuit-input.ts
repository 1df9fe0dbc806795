/**
 * Tensor ↔ field elements for a compiled circuit: the circuit's input (the sample, the nonce and the
 * hinted linear-layer outputs from the integer reference), and the public signals that sample, nonce
 * and output must produce (computed here independently, with circomlibjs's Poseidon).
 */
import { buildPoseidon } from "circomlibjs";
import { z } from "zod";
import type { CircuitManifest, Packing } from "../model/circuit-manifest.js";
import { FIELD_PRIME } from "../snark/field.js";
import { HASHED_NONCE_BITS } from "../core/request-binding.js";
import { argmaxFirst, traceIntegerModel, type IntegerModel } from "../model/integer-model.js";
import { inputLayout, packWords, unpackWords, type WordLayout } from "./packing.js";
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

export function buildCircuitInput(
  manifest: CircuitManifest,
  model: IntegerModel,
  sample: readonly number[],
  nonce: bigint,
): PreparedInput {
  const bits = nonceBits(manifest);
  if (nonce < 0n || nonce >= 1n << BigInt(bits))
    throw new RangeError(`nonce must be in [0, 2^${bits}) for ${manifest.model_id.slice(0, 12)}`);
  const trace = traceIntegerModel(model, sample);
  const input: Record<string, bigint | bigint[]> = {
    [manifest.input_signal]: sample.map(toField),
    nonce: toField(nonce),
  };
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

/** The input commitment of a classify/tensor circuit: Poseidon(model_id, nonce, packed input). */
export async function inputCommitment(
  manifest: CircuitManifest,
  sample: readonly number[],
  nonce: bigint,
): Promise<bigint> {
  return hashWords([BigInt(manifest.model_id_field), toField(nonce), ...packWords(sample, inputLayout(manifest))]);
}

/** A decoding step's state: the token window packed in one word (oldest lowest), the nonce above it. */
function stateLayout(p: Extract<Packing, { kind: "token-step" }>): WordLayout {
  return { bits: p.tokenBits, offset: 0, perWord: p.context };
}

/** A tensor circuit's output words, after its input commitment. */
function outputLayout(p: Extract<Packing, { kind: "tensor" }>): WordLayout {
  return { bits: p.outputBits, offset: p.outputOffset, perWord: p.outputsPerWord };
}

/** The public signals a valid proof of (sample, nonce) → output must carry, in circuit order. */
export async function expectedPublicSignals(
  manifest: CircuitManifest,
  sample: readonly number[],
  nonce: bigint,
  output: ProvenOutput,
): Promise<bigint[]> {
  const p = manifest.packing;
  if (p.kind === "token-step") {
    const state = (tokens: readonly number[]) =>
      packWords(tokens, stateLayout(p))[0] + (nonce << BigInt(p.tokenBits * p.context));
    return [state(sample), state([...sample.slice(1), output as number])];
  }
  const commitment = await inputCommitment(manifest, sample, nonce);
  if (p.kind === "classify")
    return [((commitment >> BigInt(p.valueBits)) << BigInt(p.valueBits)) + BigInt(output as number)];
  return [commitment, ...packWords(output as readonly number[], outputLayout(p))];
}

/** What public signals say, read by the circuit's packing (bigints as decimal strings): also the API's wire shape. */
export const DecodedSignals = z.discriminatedUnion("kind", [
  z.object({
    kind: z.literal("token-step"),
    context: z.array(z.int()).describe("the token window before the step, oldest first"),
    next_token: z.int(),
    nonce: z.string().describe("decimal"),
    state_in: z.string().describe("decimal"),
    state_out: z.string().describe("decimal"),
  }),
  z.object({ kind: z.literal("classify"), label: z.int(), claim: z.string().describe("decimal") }),
  z.object({ kind: z.literal("tensor"), commitment: z.string().describe("decimal"), outputs: z.array(z.int()) }),
]);
export type DecodedSignals = z.infer<typeof DecodedSignals>;

/** Reads what public signals say, without trusting anything else. */
export function decodePublicSignals(manifest: CircuitManifest, signals: readonly bigint[]): DecodedSignals {
  const p = manifest.packing;
  if (signals.length !== manifest.public_signals.length)
    throw new RangeError(`${signals.length} public signals; the circuit has ${manifest.public_signals.length}`);
  const field = (v: bigint, shift: number, bits: number) => Number((v >> BigInt(shift)) & ((1n << BigInt(bits)) - 1n));
  if (p.kind === "token-step") {
    const [stateIn, stateOut] = signals;
    return {
      kind: "token-step",
      context: unpackWords([stateIn], stateLayout(p), p.context),
      next_token: unpackWords([stateOut], stateLayout(p), p.context)[p.context - 1],
      nonce: (stateIn >> BigInt(p.tokenBits * p.context)).toString(),
      state_in: stateIn.toString(),
      state_out: stateOut.toString(),
    };
  }
  if (p.kind === "classify")
    return { kind: "classify", label: field(signals[0], 0, p.valueBits), claim: signals[0].toString() };
  const outputs = unpackWords(signals.slice(1), outputLayout(p), manifest.classes);
  return { kind: "tensor", commitment: signals[0].toString(), outputs };
}
