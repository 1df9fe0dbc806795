/**
 * The circuit's sample input, one emitter per input kind: each range-checks every value to exactly the
 * domain the model takes and says how the first layer reads it.
 */
import { inputLength, inputRange, type IntegerInput, type IntegerModel } from "../../model/integer-model.js";
import { bitsFor, type Emission } from "./emission.js";

/** The circuit input holding the sample. */
export const INPUT_SIGNAL = { tokens: "tokens", bits: "features", int: "values" } as const;

/** Appends the checks of an input of n values; returns how the first layer names the i-th value. */
type InputEmitter<I> = (e: Pick<Emission, "includes" | "body">, input: I, n: number) => Emission["x"];

const emitTokens: InputEmitter<Extract<IntegerInput, { kind: "tokens" }>> = (e, input, n) => {
  // OneHot proves token < V; positional tables read its selector bits
  e.includes.add("one_hot");
  e.body.push(
    `    component select[${n}];`,
    `    for (var p = 0; p < ${n}; p++) {`,
    `        select[p] = OneHot(${input.vocabSize});`,
    `        select[p].index <== tokens[p];`,
    "    }",
  );
  return () => {
    throw new Error("token inputs feed positional tables only");
  };
};

const emitBits: InputEmitter<Extract<IntegerInput, { kind: "bits" }>> = (e, _input, n) => {
  e.body.push(`    for (var i = 0; i < ${n}; i++) {`, "        features[i] * (features[i] - 1) === 0;", "    }");
  return (i) => `features[${i}]`;
};

const emitInt: InputEmitter<Extract<IntegerInput, { kind: "int" }>> = (e, input, n) => {
  // values in [min, max] exactly, the domain the quantizer produces and the bounds analysis assumes;
  // a bit decomposition alone would also admit max + 1 … min + 2^bits − 1 (e.g. 128 in [−127, 127])
  const span = input.max - input.min;
  e.includes.add("in_range");
  e.body.push(
    `    component inRange[${n}];`,
    `    for (var i = 0; i < ${n}; i++) {`,
    `        inRange[i] = InRange(${bitsFor(span)}, ${span});`,
    `        inRange[i].in <== values[i] - (${input.min});`,
    "    }",
  );
  return (i) => `values[${i}]`;
};

const INPUT_EMITTERS: { readonly [K in IntegerInput["kind"]]: InputEmitter<Extract<IntegerInput, { kind: K }>> } = {
  tokens: emitTokens,
  bits: emitBits,
  int: emitInt,
};

/** A circuit that declares and checks the sample input (and the request nonce beside it), the input its current value. */
export function startEmission(model: IntegerModel): Emission {
  const { input } = model;
  const n = inputLength(input);
  const [min, max] = inputRange(input);
  const lines = { includes: new Set<string>(), body: [] };
  // the table's type pairs each kind with its emitter; TypeScript cannot follow that through the index
  const x = (INPUT_EMITTERS[input.kind] as InputEmitter<IntegerInput>)(lines, input, n);
  return {
    model,
    ...lines,
    decl: [`    signal input ${INPUT_SIGNAL[input.kind]}[${n}];`, "    signal input nonce;"],
    outputs: [],
    pinned: [],
    hints: [],
    pinnedTerms: 0,
    x,
    signal: null,
    bounds: { lo: new Array<number>(n).fill(min), hi: new Array<number>(n).fill(max) },
  };
}
