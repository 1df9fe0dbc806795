/**
 * One inference, as /v1/inferences runs it: a single sample, either text through the model's own front
 * end (the classifier's featurizer, or a language model's tokenizer and context window), or a tensor
 * given as nested arrays and checked against the model's input shape without the batch dimension.
 */
import * as ort from "onnxruntime-node";
import { ProofgateError } from "../core/errors.js";
import { argmaxFirst, checkIntegerInput, LOGITS_OUTPUT } from "./integer-model.js";
import type { ClassifierModel, LanguageModel, ServedModel } from "./served-model.js";
import { spamFeatures } from "./spam-features.js";
import { chosenTokenLogprob, logSoftmax, type ChosenTokenLogprob } from "./token-logprobs.js";

export type NestedNumbers = number | readonly NestedNumbers[];

/** For an integer-exact model, what a proof of this inference covers: the sample it ran on and its integer logits. */
export interface IntegerRun {
  readonly sample: readonly number[];
  readonly logits: readonly number[];
  readonly argmax: number;
}

export type InferenceResult = (
  | { readonly kind: "next-token"; readonly contextTokens: number; readonly next: ChosenTokenLogprob }
  | {
      readonly kind: "classification";
      readonly labelId: number;
      readonly logits: readonly number[];
      readonly probabilities: readonly number[];
    }
  | { readonly kind: "tensor"; readonly outputs: Readonly<Record<string, NestedNumbers>> }
) & { readonly integerRun: IntegerRun | null };

export interface RunInferenceOptions {
  readonly model: ServedModel;
  readonly input: string | NestedNumbers;
  /** Alternatives listed with a language model's next token. */
  readonly topTokens: number;
  /** Request field named in validation errors. */
  readonly param: string;
}

export async function runInference(options: RunInferenceOptions): Promise<InferenceResult> {
  const { model, input, param } = options;
  if (typeof input === "string") {
    if (model.kind === "language") return nextToken(model, input, options.topTokens);
    if (model.kind === "classifier") return classify(model, input);
    throw new ProofgateError(
      "invalid_argument",
      `model ${model.id} takes a tensor, not text; send ${param} as nested arrays of shape [${model.input.shape.join(", ")}]`,
      { param },
    );
  }
  const values = flattenToShape(input, model.input.shape, param);
  const reason = model.integer ? checkIntegerInput(model.integer.input, values) : checkElementType(model, values);
  if (reason) throw new ProofgateError("invalid_argument", `${param}: ${reason}`, { param });
  const outputs = await model.session.run({
    [model.input.name]: makeTensor(model.input.type, values, [1, ...shapeOf(input)]),
  });
  const result: Record<string, NestedNumbers> = {};
  for (const [name, tensor] of Object.entries(outputs))
    result[name] = nest(Array.from(tensor.data as ArrayLike<number | bigint>, Number), tensor.dims.slice(1));
  const logits = outputs[LOGITS_OUTPUT]?.data as Float32Array | undefined;
  return { kind: "tensor", outputs: result, integerRun: integerRun(model, values, logits) };
}

async function nextToken(model: LanguageModel, text: string, topTokens: number): Promise<InferenceResult> {
  const tokens = model.tokenizer.encode(text).slice(-model.contextLength);
  const row = new Array<number>(model.contextLength - tokens.length).fill(model.tokenizer.eotId).concat(tokens);
  const logits = await runLogits(model, row);
  // the greedy choice of the logits as produced (integer ones for an integer-exact model), as generation picks it
  const best = argmaxFirst(logits);
  return {
    kind: "next-token",
    contextTokens: tokens.length,
    next: chosenTokenLogprob(logits, model.logitScale, best, topTokens),
    integerRun: integerRun(model, row, logits),
  };
}

async function classify(model: ClassifierModel, text: string): Promise<InferenceResult> {
  const sample = Array.from(spamFeatures(text, model.featurizer));
  const logits = await runLogits(model, sample);
  const best = argmaxFirst(logits);
  return {
    kind: "classification",
    labelId: best,
    logits: Array.from(logits),
    probabilities: Array.from(logSoftmax(logits, model.logitScale), Math.exp),
    integerRun: integerRun(model, sample, logits),
  };
}

function integerRun(
  model: ServedModel,
  sample: readonly number[],
  logits: Float32Array | undefined,
): IntegerRun | null {
  if (!model.integer || !logits) return null;
  return { sample: [...sample], logits: Array.from(logits), argmax: argmaxFirst(logits) };
}

async function runLogits(model: ServedModel, sample: readonly number[]): Promise<Float32Array> {
  const out = await model.session.run(
    { [model.input.name]: makeTensor(model.input.type, sample, [1, sample.length]) },
    [LOGITS_OUTPUT],
  );
  return out[LOGITS_OUTPUT]!.data as Float32Array;
}

function makeTensor(type: string, values: readonly number[], dims: readonly number[]): ort.Tensor {
  if (type === "int64")
    return new ort.Tensor(
      "int64",
      BigInt64Array.from(values, (v) => BigInt(v)),
      dims,
    );
  if (type === "int32") return new ort.Tensor("int32", Int32Array.from(values), dims);
  if (type === "float32") return new ort.Tensor("float32", Float32Array.from(values), dims);
  throw new ProofgateError("invalid_argument", `model input type ${type} is not supported by /v1/inferences`);
}

function checkElementType(model: ServedModel, values: readonly number[]): string | null {
  const bad = values.findIndex((v) => !Number.isFinite(v) || (model.input.type !== "float32" && !Number.isInteger(v)));
  if (bad >= 0)
    return `input[${bad}] is ${values[bad]}; expected ${model.input.type === "float32" ? "a finite number" : "an integer"}`;
  if (model.kind === "language") {
    const out = values.findIndex((v) => v < 0 || v >= model.tokenizer.vocabSize);
    if (out >= 0)
      return `input[${out}] is ${values[out]}; expected a token id in [0, ${model.tokenizer.vocabSize - 1}]`;
  }
  return null;
}

function shapeOf(value: NestedNumbers): number[] {
  const dims: number[] = [];
  let v: NestedNumbers = value;
  while (Array.isArray(v)) {
    dims.push(v.length);
    v = (v as readonly NestedNumbers[])[0] as NestedNumbers;
  }
  return dims;
}

/** Flattens `value` row-major, checking it is a regular array of the expected shape. */
function flattenToShape(value: NestedNumbers, shape: readonly (number | string)[], param: string): number[] {
  const got = shapeOf(value);
  const expected = `[${shape.join(", ")}]`;
  const mismatch = got.length !== shape.length || shape.some((d, i) => typeof d === "number" && d !== got[i]);
  if (mismatch)
    throw new ProofgateError(
      "invalid_argument",
      `${param} has shape [${got.join(", ")}]; model expects ${expected} (one sample, no batch dimension)`,
      { param },
    );
  const out: number[] = [];
  const walk = (v: NestedNumbers, depth: number, path: string): void => {
    if (depth === got.length) {
      if (typeof v !== "number") throw new ProofgateError("invalid_argument", `${path} is not a number`, { param });
      out.push(v);
      return;
    }
    if (!Array.isArray(v) || v.length !== got[depth])
      throw new ProofgateError(
        "invalid_argument",
        `${path} must be an array of ${got[depth]} entries (shape ${expected})`,
        { param },
      );
    (v as readonly NestedNumbers[]).forEach((item, i) => {
      walk(item, depth + 1, `${path}[${i}]`);
    });
  };
  walk(value, 0, param);
  return out;
}

function nest(flat: readonly number[], dims: readonly number[]): NestedNumbers {
  if (dims.length === 0) return flat[0]!;
  const [first, ...rest] = dims;
  const size = rest.reduce((a, b) => a * b, 1);
  return Array.from({ length: first! }, (_, i) => nest(flat.slice(i * size, (i + 1) * size), rest));
}
