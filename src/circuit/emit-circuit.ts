/**
 * IntegerModel → circom. Weights become constants in linear constraints; each requantization, the
 * input checks, the arg-max and the commitment use the templates in `circuits/`. Three stages, each a
 * table by kind: the sample input (ops/inputs.ts), one emitter per layer op (ops/index.ts), and the
 * public signals of the circuit's kind (public-signals.ts), which range-check every packed value.
 *
 * Two programs come out of one emission. The *constraint program* pins every linear layer's outputs:
 * `lin[j] === bias + Σ w·x`. Those outputs are private hint inputs, computed by the integer reference
 * (src/model/integer-model.ts) and fixed by the constraints, because circom's witness code generator
 * runs out of memory on hundreds of thousands of constant terms. The *witness program* is the same
 * circuit without those big linear constraints, so its wasm stays small; both declare the same signals
 * in the same order (checked at compile time), so its witness is the constraint program's witness.
 */
import { layerBounds, type IntegerModel } from "../model/integer-model.js";
import type { HintLayer } from "./ops/emission.js";
import { emitLayer } from "./ops/index.js";
import { INPUT_SIGNAL, startEmission } from "./ops/inputs.js";
import {
  CLAIM_VALUE_BITS,
  OUTPUT_EMITTERS,
  type CircuitKind,
  type Packing,
  type PublicSignal,
} from "./public-signals.js";

export { CLAIM_VALUE_BITS, WORD_BITS, type CircuitKind, type Packing, type PublicSignal } from "./public-signals.js";
export type { HintLayer } from "./ops/emission.js";

export interface EmittedCircuit {
  readonly constraintSource: string;
  readonly witnessSource: string;
  readonly kind: CircuitKind;
  readonly packing: Packing;
  readonly publicSignals: readonly PublicSignal[];
  readonly hints: readonly HintLayer[];
  /** The circuit input holding the sample: tokens, features or values. */
  readonly inputSignal: string;
  /** Constant terms in the pinned linear constraints: what makes circom's simplification slow. */
  readonly pinnedTerms: number;
}

export interface EmitOptions {
  /** The model id as a field element, hashed into classify/tensor commitments. */
  readonly modelIdField: bigint;
  /** Prove the arg-max (a token, a label) or every logit. */
  readonly output: "argmax" | "logits";
}

export function emitCircuit(model: IntegerModel, options: EmitOptions): EmittedCircuit {
  const kind: CircuitKind =
    model.input.kind === "tokens" && options.output === "argmax"
      ? "token-step"
      : options.output === "argmax"
        ? "classify"
        : "tensor";
  // ArgMax proves index < classes; the packing needs index < the slot it is written into
  if (kind === "token-step" && model.input.kind === "tokens" && model.classes > model.input.vocabSize) {
    throw new Error(
      `a token model's next token must be a token it reads: ${model.classes} classes exceed the vocabulary of ${model.input.vocabSize}`,
    );
  }
  if (kind === "classify" && model.classes > 2 ** CLAIM_VALUE_BITS)
    throw new Error(
      `a classifier's label must fit the claim's ${CLAIM_VALUE_BITS} bits: ${model.classes} classes exceed ${2 ** CLAIM_VALUE_BITS}`,
    );
  const e = startEmission(model);
  // the packed commitment reads the raw input, whatever the layers make of the current value
  const inputAt = e.x;
  const bounds = layerBounds(model);
  model.layers.forEach((layer, index) => {
    emitLayer(e, layer, index);
    e.bounds = bounds[index];
  });
  const { packing, publicSignals } = OUTPUT_EMITTERS[kind](e, { modelIdField: options.modelIdField, inputAt });

  const header = [
    "pragma circom 2.1.0;",
    ...[...e.includes]
      .sort()
      .map((t) => (t === "bitify" ? 'include "circomlib/bitify.circom";' : `include "circuits/${t}.circom";`)),
    "",
    "template Model() {",
    ...e.decl,
    ...e.outputs,
    ...e.body,
  ];
  const program = (withPins: boolean) =>
    [...header, ...(withPins ? e.pinned : []), "}", "", "component main = Model();", ""].join("\n");
  return {
    constraintSource: program(true),
    witnessSource: program(false),
    kind,
    packing,
    publicSignals,
    hints: e.hints,
    inputSignal: INPUT_SIGNAL[model.input.kind],
    pinnedTerms: e.pinnedTerms,
  };
}
