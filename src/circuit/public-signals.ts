/**
 * The circuit's public signals, one emitter per circuit kind: how the request and the proven answer are
 * packed into field elements. Every packed value is range-checked to its slot: tokens by OneHot, the
 * next token or label by ArgMax (index < classes, which must fit the slot), input values to exactly
 * [min, max] (which bounds every logit within the interval its slot is sized for), a token step's
 * nonce by its bits.
 */
import { inputLength, inputRange } from "../model/integer-model.js";
import type { CircuitKind, Packing, PublicSignal } from "../model/circuit-manifest.js";
import { balancedSum, bitsFor, type Emission } from "./ops/emission.js";

// circuit.json's shapes, defined (as zod schemas) beside its reader
export type { CircuitKind, Packing, PublicSignal };

/** Low bits of a classifier's claim that carry its label. */
export const CLAIM_VALUE_BITS = 16;
/** Bits of a packed public word: below the 254-bit field, so packing is injective. */
export const WORD_BITS = 253;

export interface PublicOutput {
  readonly packing: Packing;
  readonly publicSignals: readonly PublicSignal[];
}

export interface OutputContext {
  /** The model id as a field element, hashed into classify/tensor commitments. */
  readonly modelIdField: bigint;
  /** The i-th sample value as the circuit input holds it (the current value has moved on to the logits). */
  readonly inputAt: (i: number) => string;
}

type OutputEmitter = (e: Emission, context: OutputContext) => PublicOutput;

/** The lowest and highest value any logit (the current value) takes. */
function logitRange(e: Emission): [number, number] {
  return [Math.min(...e.bounds.lo), Math.max(...e.bounds.hi)];
}

/** `best`: the index of the largest logit, first on ties. */
function emitArgMax(e: Emission): void {
  const [lo, hi] = logitRange(e);
  e.includes.add("argmax");
  e.body.push(`    component best = ArgMax(${e.model.classes}, ${bitsFor(hi - lo + 1)});`);
  if (e.signal) e.body.push(`    best.in <== ${e.signal};`);
  else
    e.body.push(`    for (var j = 0; j < ${e.model.classes}; j++) {`, `        best.in[j] <== ${e.x("j")};`, "    }");
}

/** Consecutive values packed into as few words as fit, each value `bits` wide. */
function packWords(count: number, bits: number, value: (k: number) => string): string[] {
  const perWord = Math.floor(WORD_BITS / bits);
  const words: string[] = [];
  for (let w = 0; w * perWord < count; w++) {
    const terms: string[] = [];
    for (let k = 0; k < perWord && w * perWord + k < count; k++) {
      const v = value(w * perWord + k);
      terms.push(k === 0 ? v : `${v} * ${(1n << BigInt(bits * k)).toString()}`);
    }
    words.push(balancedSum(terms));
  }
  return words;
}

/** `commit`: Poseidon(model id, nonce, the packed sample). */
function emitCommitment(
  e: Emission,
  context: OutputContext,
): { inputBits: number; inputOffset: number; perWord: number; words: number; inputName: string } {
  const n = inputLength(e.model.input);
  const [inMin, inMax] = inputRange(e.model.input);
  const inputBits = bitsFor(inMax - inMin);
  const packed = packWords(n, inputBits, (i) =>
    inMin === 0 ? context.inputAt(i) : `(${context.inputAt(i)} - (${inMin}))`,
  );
  const hashed = [`${context.modelIdField}`, "nonce", ...packed];
  e.includes.add("commitment");
  e.body.push(`    component commit = HashWords(${hashed.length});`);
  hashed.forEach((h, i) => {
    e.body.push(`    commit.in[${i}] <== ${h};`);
  });
  return {
    inputBits,
    inputOffset: inMin,
    perWord: Math.floor(WORD_BITS / inputBits),
    words: packed.length,
    inputName: e.model.input.kind === "bits" ? "features" : "values",
  };
}

const emitTokenStep: OutputEmitter = (e) => {
  const input = e.model.input;
  if (input.kind !== "tokens") throw new Error("internal: a token step reads tokens");
  emitArgMax(e);
  const tokenBits = bitsFor(input.vocabSize - 1);
  const nonceBits = WORD_BITS - tokenBits * input.context;
  if (nonceBits < 64)
    throw new Error(
      `a context of ${input.context} tokens of ${tokenBits} bits leaves ${nonceBits} bits for the nonce; at most ${Math.floor((WORD_BITS - 64) / tokenBits)} tokens fit`,
    );
  const shift = (p: number) => (1n << BigInt(tokenBits * p)).toString();
  const nonceShift = (1n << BigInt(tokenBits * input.context)).toString();
  const inTerms = Array.from({ length: input.context }, (_, p) => `tokens[${p}] * ${shift(p)}`);
  const outTerms = Array.from({ length: input.context - 1 }, (_, p) => `tokens[${p + 1}] * ${shift(p)}`);
  e.includes.add("bitify");
  e.outputs.push("    signal output state_in;", "    signal output state_out;");
  e.body.push(
    `    component nonceRange = Num2Bits(${nonceBits});`,
    "    nonceRange.in <== nonce;",
    `    state_in <== ${balancedSum([...inTerms, `nonce * ${nonceShift}`])};`,
    `    state_out <== ${balancedSum([...outTerms, `best.index * ${shift(input.context - 1)}`, `nonce * ${nonceShift}`])};`,
  );
  return {
    packing: { kind: "token-step", tokenBits, context: input.context, nonceBits },
    publicSignals: [
      {
        name: "state_in",
        meaning: `the context window before the step: token p in bits [${tokenBits}p, ${tokenBits}p + ${tokenBits}), oldest first; the request nonce above bit ${tokenBits * input.context}`,
      },
      {
        name: "state_out",
        meaning: "the window after the step: shifted by one token, the proven next token last, the same nonce",
      },
    ],
  };
};

const emitClassify: OutputEmitter = (e, context) => {
  emitArgMax(e);
  const { inputName, ...packed } = emitCommitment(e, context);
  e.outputs.push("    signal output claim;");
  e.body.push(
    `    component claimed = Claim(${CLAIM_VALUE_BITS});`,
    "    claimed.commitment <== commit.out;",
    "    claimed.value <== best.index;",
    "    claim <== claimed.out;",
  );
  return {
    packing: { kind: "classify", ...packed, valueBits: CLAIM_VALUE_BITS },
    publicSignals: [
      {
        name: "claim",
        meaning: `Poseidon(model_id, nonce, packed ${inputName}) with its low ${CLAIM_VALUE_BITS} bits replaced by the proven class index`,
      },
    ],
  };
};

const emitTensor: OutputEmitter = (e, context) => {
  const { inputName, ...packed } = emitCommitment(e, context);
  const [logitLo, logitHi] = logitRange(e);
  const outputBits = bitsFor(logitHi - logitLo);
  const outputsPerWord = Math.floor(WORD_BITS / outputBits);
  // each logit is pinned to its layer's sum over range-checked values, so it lies in [logitLo, logitHi]
  // and fits its slot; this holds only because the inputs are checked to exactly their domain
  const outputs = packWords(e.model.classes, outputBits, (k) => `(${e.x(k)} - (${logitLo}))`);
  e.outputs.push("    signal output commitment;", `    signal output outputs[${outputs.length}];`);
  e.body.push("    commitment <== commit.out;", ...outputs.map((word, w) => `    outputs[${w}] <== ${word};`));
  return {
    packing: {
      kind: "tensor",
      ...packed,
      outputBits,
      outputOffset: logitLo,
      outputsPerWord,
      outputWords: outputs.length,
    },
    publicSignals: [
      { name: "commitment", meaning: `Poseidon(model_id, nonce, packed ${inputName})` },
      ...outputs.map((_, w) => ({
        name: `outputs[${w}]`,
        meaning: `output values ${w * outputsPerWord}… as ${outputBits}-bit fields, each offset by ${-logitLo}`,
      })),
    ],
  };
};

export const OUTPUT_EMITTERS: { readonly [K in CircuitKind]: OutputEmitter } = {
  "token-step": emitTokenStep,
  classify: emitClassify,
  tensor: emitTensor,
};
