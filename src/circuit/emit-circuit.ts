/**
 * IntegerModel → circom. Weights become constants in linear constraints; each requantization, the
 * input checks, the arg-max and the commitment use the templates in `circuits/`. Every value packed
 * into a public signal is range-checked to its slot: tokens by OneHot, the next token or label by
 * ArgMax (index < classes, which must fit the slot), input values to exactly [min, max] (which bounds
 * every logit within the interval its slot is sized for), a token step's nonce by its bits.
 *
 * Two programs come out of one emission. The *constraint program* pins every linear layer's outputs:
 * `lin[j] === bias + Σ w·x`. Those outputs are private hint inputs, computed by the integer reference
 * (src/model/integer-model.ts) and fixed by the constraints, because circom's witness code generator
 * runs out of memory on hundreds of thousands of constant terms. The *witness program* is the same
 * circuit without those big linear constraints, so its wasm stays small; both declare the same signals
 * in the same order (checked at compile time), so its witness is the constraint program's witness.
 */
import { inputLength, inputRange, layerBounds, type IntegerModel } from "../model/integer-model.js";
import type { CircuitKind, HintLayer, Packing, PublicSignal } from "./circuit-manifest.js";

/** Low bits of a classifier's claim that carry its label. */
export const CLAIM_VALUE_BITS = 16;
/** Bits of a packed public word: below the 254-bit field, so packing is injective. */
export const WORD_BITS = 253;

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

function bitsFor(maxValue: number): number {
  return Math.max(1, Math.ceil(Math.log2(maxValue + 1)));
}

/** A sum as a balanced tree: circom's parser recurses once per nesting level. */
function balancedSum(terms: readonly string[]): string {
  if (terms.length === 0) return "0";
  if (terms.length === 1) return terms[0];
  const mid = terms.length >> 1;
  return `(${balancedSum(terms.slice(0, mid))} + ${balancedSum(terms.slice(mid))})`;
}

function term(coef: number, signal: string): string {
  return coef === 1 ? signal : `${coef} * ${signal}`;
}

export function emitCircuit(model: IntegerModel, options: EmitOptions): EmittedCircuit {
  const bounds = layerBounds(model);
  const n = inputLength(model.input);
  const [inMin, inMax] = inputRange(model.input);
  const kind: CircuitKind = model.input.kind === "tokens" && options.output === "argmax" ? "token-step" : options.output === "argmax" ? "classify" : "tensor";
  // ArgMax proves index < classes; the packing needs index < the slot it is written into
  if (kind === "token-step" && model.input.kind === "tokens" && model.classes > model.input.vocabSize) {
    throw new Error(`a token model's next token must be a token it reads: ${model.classes} classes exceed the vocabulary of ${model.input.vocabSize}`);
  }
  if (kind === "classify" && model.classes > 2 ** CLAIM_VALUE_BITS) throw new Error(`a classifier's label must fit the claim's ${CLAIM_VALUE_BITS} bits: ${model.classes} classes exceed ${2 ** CLAIM_VALUE_BITS}`);
  const includes = new Set(["requantize"]);
  const body: string[] = [];
  const pinned: string[] = [];
  const decl: string[] = [];
  const hints: HintLayer[] = [];
  let pinnedTerms = 0;

  // ---- input and its range checks
  const inputSignal = model.input.kind === "tokens" ? "tokens" : model.input.kind === "bits" ? "features" : "values";
  decl.push(`    signal input ${inputSignal}[${n}];`, "    signal input nonce;");
  // x(i) names the i-th input of the first linear layer as circom sees it
  let x: (i: number) => string;
  if (model.input.kind === "tokens") {
    includes.add("one_hot");
    const V = model.input.vocabSize;
    body.push(`    component select[${n}];`, `    for (var p = 0; p < ${n}; p++) {`, `        select[p] = OneHot(${V});`, `        select[p].index <== tokens[p];`, "    }");
    x = () => {
      throw new Error("token inputs feed positional tables only");
    };
  } else if (model.input.kind === "bits") {
    body.push(`    for (var i = 0; i < ${n}; i++) {`, "        features[i] * (features[i] - 1) === 0;", "    }");
    x = (i) => `features[${i}]`;
  } else {
    // values in [min, max] exactly, the domain the quantizer produces and the bounds analysis assumes;
    // a bit decomposition alone would also admit max + 1 … min + 2^bits − 1 (e.g. 128 in [−127, 127])
    includes.add("in_range");
    body.push(`    component inRange[${n}];`, `    for (var i = 0; i < ${n}; i++) {`, `        inRange[i] = InRange(${bitsFor(inMax - inMin)}, ${inMax - inMin});`, `        inRange[i].in <== values[i] - (${inMin});`, "    }");
    x = (i) => `values[${i}]`;
  }

  // the packed commitment reads the raw input, whatever later layers do to `x`
  const inputAt = x;

  // ---- layers
  model.layers.forEach((layer, li) => {
    if (layer.kind === "requantize") {
      const prev = bounds[li - 1];
      const lo = Math.min(...prev.lo);
      const hi = Math.max(...prev.hi);
      // in + 2^(qBits−1+shift) must land in [0, 2^(qBits+shift))
      const magnitude = Math.max(-lo, hi + 1) / 2 ** layer.shift;
      const qBits = Math.max(2, 1 + Math.ceil(Math.log2(Math.max(magnitude, 1))));
      const outBits = bitsFor(layer.max);
      if (2 ** outBits - 1 !== layer.max) throw new Error(`requantize max ${layer.max} is not 2^k − 1`);
      const source = hints[hints.length - 1].signal;
      body.push(`    component rq${li}[${layer.width}];`, `    for (var j = 0; j < ${layer.width}; j++) {`, `        rq${li}[j] = Requantize(${layer.shift}, ${qBits}, ${outBits});`, `        rq${li}[j].in <== ${source}[j];`, "    }");
      x = (i) => `rq${li}[${i}].out`;
      return;
    }
    const width = layer.kind === "dense" ? layer.outputs : layer.width;
    const signal = `lin${li}`;
    decl.push(`    signal input ${signal}[${width}];`);
    hints.push({ signal, layer: li, width });
    for (let j = 0; j < width; j++) {
      const terms: string[] = [];
      if (layer.kind === "positional_tables") {
        for (let p = 0; p < layer.context; p++) {
          for (let t = 0; t < layer.vocabSize; t++) {
            const c = layer.table[(p * layer.vocabSize + t) * width + j];
            if (c !== 0) terms.push(term(c, `select[${p}].bits[${t}]`));
          }
        }
      } else {
        for (let i = 0; i < layer.inputs; i++) {
          const c = layer.weight[i * width + j];
          if (c !== 0) terms.push(term(c, x(i)));
        }
      }
      pinnedTerms += terms.length;
      pinned.push(`    ${signal}[${j}] === ${layer.bias[j]} + ${balancedSum(terms)};`);
    }
  });
  const logits = hints[hints.length - 1];
  const last = bounds[bounds.length - 1];
  const logitLo = Math.min(...last.lo);
  const logitHi = Math.max(...last.hi);

  // ---- output and public signals
  const outputs: string[] = [];
  let packing: Packing;
  let publicSignals: PublicSignal[];
  if (options.output === "argmax") {
    includes.add("argmax");
    body.push(`    component best = ArgMax(${model.classes}, ${bitsFor(logitHi - logitLo + 1)});`, `    best.in <== ${logits.signal};`);
  }
  if (kind === "token-step") {
    const input = model.input as { vocabSize: number; context: number };
    const tokenBits = bitsFor(input.vocabSize - 1);
    const nonceBits = WORD_BITS - tokenBits * input.context;
    if (nonceBits < 64) throw new Error(`a context of ${input.context} tokens of ${tokenBits} bits leaves ${nonceBits} bits for the nonce; at most ${Math.floor((WORD_BITS - 64) / tokenBits)} tokens fit`);
    includes.add("bitify");
    packing = { kind: "token-step", tokenBits, context: input.context, nonceBits };
    const shift = (p: number) => (1n << BigInt(tokenBits * p)).toString();
    const nonceShift = (1n << BigInt(tokenBits * input.context)).toString();
    const inTerms = Array.from({ length: input.context }, (_, p) => `tokens[${p}] * ${shift(p)}`);
    const outTerms = Array.from({ length: input.context - 1 }, (_, p) => `tokens[${p + 1}] * ${shift(p)}`);
    outputs.push("    signal output state_in;", "    signal output state_out;");
    body.push(
      `    component nonceRange = Num2Bits(${nonceBits});`,
      "    nonceRange.in <== nonce;",
      `    state_in <== ${balancedSum([...inTerms, `nonce * ${nonceShift}`])};`,
      `    state_out <== ${balancedSum([...outTerms, `best.index * ${shift(input.context - 1)}`, `nonce * ${nonceShift}`])};`,
    );
    publicSignals = [
      { name: "state_in", meaning: `the context window before the step: token p in bits [${tokenBits}p, ${tokenBits}p + ${tokenBits}), oldest first; the request nonce above bit ${tokenBits * input.context}` },
      { name: "state_out", meaning: "the window after the step: shifted by one token, the proven next token last, the same nonce" },
    ];
  } else {
    includes.add("commitment");
    const inputBits = bitsFor(inMax - inMin);
    const perWord = Math.floor(WORD_BITS / inputBits);
    const words = Math.ceil(n / perWord);
    const packed: string[] = [];
    for (let w = 0; w < words; w++) {
      const terms: string[] = [];
      for (let k = 0; k < perWord && w * perWord + k < n; k++) {
        const v = inMin === 0 ? inputAt(w * perWord + k) : `(${inputAt(w * perWord + k)} - (${inMin}))`;
        terms.push(k === 0 ? v : `${v} * ${(1n << BigInt(inputBits * k)).toString()}`);
      }
      packed.push(balancedSum(terms));
    }
    const inputName = model.input.kind === "bits" ? "features" : "values";
    const hashed = [`${options.modelIdField}`, "nonce", ...packed];
    body.push(`    component commit = HashWords(${hashed.length});`);
    hashed.forEach((h, i) => body.push(`    commit.in[${i}] <== ${h};`));
    if (kind === "classify") {
      packing = { kind: "classify", inputBits, inputOffset: inMin, perWord, words, valueBits: CLAIM_VALUE_BITS };
      outputs.push("    signal output claim;");
      body.push(`    component claimed = Claim(${CLAIM_VALUE_BITS});`, "    claimed.commitment <== commit.out;", "    claimed.value <== best.index;", "    claim <== claimed.out;");
      publicSignals = [
        { name: "claim", meaning: `Poseidon(model_id, nonce, packed ${inputName}) with its low ${CLAIM_VALUE_BITS} bits replaced by the proven class index` },
      ];
    } else {
      const outputBits = bitsFor(logitHi - logitLo);
      const outputsPerWord = Math.floor(WORD_BITS / outputBits);
      const outputWords = Math.ceil(model.classes / outputsPerWord);
      packing = { kind: "tensor", inputBits, inputOffset: inMin, perWord, words, outputBits, outputOffset: logitLo, outputsPerWord, outputWords };
      outputs.push("    signal output commitment;", `    signal output outputs[${outputWords}];`);
      // each logit is pinned to its layer's sum over range-checked values, so it lies in [logitLo, logitHi]
      // and fits its slot; this holds only because the inputs are checked to exactly their domain
      body.push("    commitment <== commit.out;");
      for (let w = 0; w < outputWords; w++) {
        const terms: string[] = [];
        for (let k = 0; k < outputsPerWord && w * outputsPerWord + k < model.classes; k++) {
          const v = `(${logits.signal}[${w * outputsPerWord + k}] - (${logitLo}))`;
          terms.push(k === 0 ? v : `${v} * ${(1n << BigInt(outputBits * k)).toString()}`);
        }
        body.push(`    outputs[${w}] <== ${balancedSum(terms)};`);
      }
      publicSignals = [
        { name: "commitment", meaning: `Poseidon(model_id, nonce, packed ${inputName})` },
        ...Array.from({ length: outputWords }, (_, w) => ({ name: `outputs[${w}]`, meaning: `output values ${w * outputsPerWord}… as ${outputBits}-bit fields, each offset by ${-logitLo}` })),
      ];
    }
  }

  const header = [
    "pragma circom 2.1.0;",
    ...[...includes].sort().map((t) => (t === "bitify" ? 'include "circomlib/bitify.circom";' : `include "circuits/${t}.circom";`)),
    "",
    "template Model() {",
    ...decl,
    ...outputs,
    ...body,
  ];
  const program = (withPins: boolean) => [...header, ...(withPins ? pinned : []), "}", "", "component main = Model();", ""].join("\n");
  return { constraintSource: program(true), witnessSource: program(false), kind, packing, publicSignals, hints, inputSignal, pinnedTerms };
}
