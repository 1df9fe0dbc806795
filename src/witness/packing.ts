/**
 * Public-input packing, both ways: small integers packed `perWord` to a field word (the first value
 * in the low bits, each stored as value − offset in `bits` bits), as the circuits pack their input and
 * output words and a decoding step's state (circuits/commitment.circom). Packing is for the values a
 * prover holds; unpacking is for words from outside (public signals, an oracle request), so it checks
 * what a word could hide.
 */
import type { CircuitManifest } from "../model/circuit-manifest.js";
import { inputLength, inputRange } from "../model/integer-model.js";

export interface WordLayout {
  readonly bits: number;
  readonly offset: number;
  readonly perWord: number;
}

export function packWords(values: readonly number[], { bits, offset, perWord }: WordLayout): bigint[] {
  const words: bigint[] = [];
  for (let w = 0; w * perWord < values.length; w++) {
    let word = 0n;
    values.slice(w * perWord, (w + 1) * perWord).forEach((v, k) => {
      word += BigInt(v - offset) << BigInt(bits * k);
    });
    words.push(word);
  }
  return words;
}

/** The first `count` values packed in `words`; bits above them are not read (see `overfullWord`). */
export function unpackWords(words: readonly bigint[], { bits, offset, perWord }: WordLayout, count: number): number[] {
  const mask = (1n << BigInt(bits)) - 1n;
  const values: number[] = [];
  words.forEach((word) => {
    for (let k = 0; k < perWord && values.length < count; k++)
      values.push(Number((word >> BigInt(bits * k)) & mask) + offset);
  });
  return values;
}

/** The first word with bits set above the values it holds when `count` values are packed, or -1. */
export function overfullWord(words: readonly bigint[], { bits, perWord }: WordLayout, count: number): number {
  return words.findIndex(
    (word, w) => word >> BigInt(bits * Math.max(0, Math.min(perWord, count - w * perWord))) !== 0n,
  );
}

/** How a classify or tensor circuit packs its input sample, in how many words. */
export function inputLayout(manifest: CircuitManifest): WordLayout & { readonly words: number } {
  const p = manifest.packing;
  if (p.kind === "token-step")
    throw new Error("token-step circuits carry their input in the state, not in packed words");
  return { bits: p.inputBits, offset: p.inputOffset, perWord: p.perWord, words: p.words };
}

/**
 * The integer sample that packed input words stand for, refused with a RangeError naming what is
 * wrong when no proof could be made for them: another number of words, bits above a word's values,
 * a value outside the model's input range.
 */
export function unpackInput(manifest: CircuitManifest, words: readonly bigint[]): number[] {
  const layout = inputLayout(manifest);
  const n = inputLength(manifest.input);
  if (words.length !== layout.words)
    throw new RangeError(`this circuit commits to ${layout.words} input words, got ${words.length}`);
  const overfull = overfullWord(words, layout, n);
  if (overfull >= 0)
    throw new RangeError(
      `input word ${overfull} has bits above its ${Math.min(layout.perWord, n - overfull * layout.perWord)} values`,
    );
  const [lo, hi] = inputRange(manifest.input);
  const sample = unpackWords(words, layout, n);
  const outside = sample.findIndex((v) => v < lo || v > hi);
  if (outside >= 0) throw new RangeError(`input value ${outside} is ${sample[outside]}, outside [${lo}, ${hi}]`);
  return sample;
}
