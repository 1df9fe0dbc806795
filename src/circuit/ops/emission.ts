/**
 * The circuit being emitted, as each op's emitter sees it: the lines written so far, and the value the
 * next layer reads. An op's emitter (one file per op, listed in ./index.ts) appends its templates and
 * constraints and leaves its output as the current value.
 */
import type { HintLayer } from "../../model/circuit-manifest.js";
import type { IntegerModel } from "../../model/integer-model.js";

// circuit.json's hint entries, defined (as a zod schema) beside its reader
export type { HintLayer };

export interface Emission {
  readonly model: IntegerModel;
  /** Template files to include: "bitify" (circomlib's) or a file of circuits/ without its extension. */
  readonly includes: Set<string>;
  /** Signal declarations of the circuit's inputs. */
  readonly decl: string[];
  /** Signal declarations of its public outputs. */
  readonly outputs: string[];
  readonly body: string[];
  /** The linear layers' constraints: in the constraint program only (see emit-circuit.ts). */
  readonly pinned: string[];
  readonly hints: HintLayer[];
  /** Constant terms in `pinned`. */
  pinnedTerms: number;
  /** The i-th element of the current value; i is a number or a circom loop variable. */
  x: (i: number | string) => string;
  /** The array signal holding the current value, when it is one (a linear layer's outputs). */
  signal: string | null;
  /** Smallest and largest value of each element of the current value. */
  bounds: { readonly lo: readonly number[]; readonly hi: readonly number[] };
}

export type LayerEmitter<L> = (e: Emission, layer: L, index: number) => void;

export function bitsFor(maxValue: number): number {
  return Math.max(1, Math.ceil(Math.log2(maxValue + 1)));
}

/** A sum as a balanced tree: circom's parser recurses once per nesting level. */
export function balancedSum(terms: readonly string[]): string {
  if (terms.length === 0) return "0";
  if (terms.length === 1) return terms[0];
  const mid = terms.length >> 1;
  return `(${balancedSum(terms.slice(0, mid))} + ${balancedSum(terms.slice(mid))})`;
}

export function term(coef: number, signal: string): string {
  return coef === 1 ? signal : `${coef} * ${signal}`;
}

/**
 * A linear layer: its outputs are a hint input `lin<index>`, pinned by `lin[j] === bias_j + Σ terms(j)`,
 * and become the current value.
 */
export function pinLinear(
  e: Emission,
  index: number,
  width: number,
  bias: Int32Array,
  terms: (j: number) => string[],
): void {
  const signal = `lin${index}`;
  e.decl.push(`    signal input ${signal}[${width}];`);
  e.hints.push({ signal, layer: index, width });
  for (let j = 0; j < width; j++) {
    const t = terms(j);
    e.pinnedTerms += t.length;
    e.pinned.push(`    ${signal}[${j}] === ${bias[j]} + ${balancedSum(t)};`);
  }
  e.x = (i) => `${signal}[${i}]`;
  e.signal = signal;
}
