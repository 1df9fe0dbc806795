/**
 * The teacher and student next-token models: their shapes, their training data as one token stream,
 * training (the teacher on the data, the student on the teacher's soft targets) and held-out scoring.
 */
import ort from "onnxruntime-node";
import { round } from "../core/numbers.js";
import type { Random } from "../core/random.js";
import type { Tokenizer } from "../model/tokenizer.js";
import type { FloatModel } from "../model/quantize.js";
import { Dense, Embedding, PositionalTables, Relu, type Layer } from "./layers.js";
import { buildTrainingGraph, LOGITS_OUTPUT } from "./training-graph.js";
import { train, trainingSessionOptions, type OptimizerSettings, type TrainResult } from "./trainer.js";

export interface TeacherShape {
  readonly context: number;
  readonly embedDim: number;
  readonly hidden: number;
}

export interface StudentShape {
  readonly context: number;
  readonly hidden: number;
}

/**
 * Teacher: the strongest MLP that trains in ~20 minutes here (bench/models measures ~120 ms per
 * 256-token step on one core). Student: sized for the circuit, where the first layer is nearly free and
 * every hidden unit and vocabulary entry costs range checks (see the student's model card).
 */
export const TEACHER_SHAPE: TeacherShape = { context: 32, embedDim: 48, hidden: 1024 };
export const STUDENT_SHAPE: StudentShape = { context: 16, hidden: 64 };

export function teacherLayers(vocabSize: number, shape: TeacherShape, rng: Random): Layer[] {
  return [
    new Embedding("embed", vocabSize, shape.embedDim, shape.context, rng),
    new Dense("hidden1", shape.context * shape.embedDim, shape.hidden, rng),
    new Relu(),
    new Dense("hidden2", shape.hidden, shape.hidden, rng),
    new Relu(),
    new Dense("out", shape.hidden, vocabSize, rng, 1),
  ];
}

export function studentLayers(vocabSize: number, shape: StudentShape, rng: Random): Layer[] {
  return [
    new PositionalTables("context", vocabSize, shape.context, shape.hidden, rng),
    new Relu(),
    new Dense("out", shape.hidden, vocabSize, rng, 1),
  ];
}

/** The student as a plain float model, ready to quantize. */
export function studentFloatModel(layers: readonly Layer[], vocabSize: number): FloatModel {
  const [tables, , out] = layers as [PositionalTables, Relu, Dense];
  return {
    input: { kind: "tokens", vocabSize, context: tables.context },
    classes: vocabSize,
    layers: [
      {
        kind: "positional_tables",
        vocabSize,
        context: tables.context,
        width: tables.width,
        table: tables.params[0].data,
        bias: tables.params[1].data,
      },
      { kind: "relu" },
      { kind: "dense", inputs: out.inputs, outputs: out.outputs, weight: out.weight.data, bias: out.bias.data },
    ],
  };
}

/** Documents encoded back to back, each preceded by end-of-text, as the models see text. */
export function encodeStream(tokenizer: Tokenizer, texts: readonly string[]): Uint16Array {
  const ids: number[] = [];
  for (const text of texts) {
    ids.push(tokenizer.eotId);
    for (const id of tokenizer.encode(text)) ids.push(id);
  }
  return Uint16Array.from(ids);
}

/** The `context` tokens before `position`, left-padded with end-of-text, written at `out[offset…]`. */
export function fillContext(
  stream: Uint16Array,
  position: number,
  context: number,
  eot: number,
  out: BigInt64Array,
  offset: number,
): void {
  for (let k = 0; k < context; k++) {
    const p = position - context + k;
    out[offset + k] = BigInt(p >= 0 ? stream[p] : eot);
  }
}

/** Positions evenly spread over a stream (never position 0, which has nothing to predict from). */
export function evaluationPositions(stream: Uint16Array, count: number): Int32Array {
  const n = Math.min(count, stream.length - 1);
  return Int32Array.from({ length: n }, (_, i) => 1 + Math.floor((i * (stream.length - 1)) / n));
}

export interface LmTrainOptions {
  readonly stream: Uint16Array;
  readonly vocabSize: number;
  readonly eot: number;
  readonly steps: number;
  readonly batchSize: number;
  readonly optimizer: OptimizerSettings;
  readonly rng: Random;
  readonly onProgress?: (step: number, meanLoss: number) => void;
}

function sampleBatch(o: LmTrainOptions, context: number): { tokens: BigInt64Array; next: Int32Array } {
  const tokens = new BigInt64Array(o.batchSize * context);
  const next = new Int32Array(o.batchSize);
  for (let b = 0; b < o.batchSize; b++) {
    const position = 1 + o.rng.int(o.stream.length - 1);
    fillContext(o.stream, position, context, o.eot, tokens, b * context);
    next[b] = o.stream[position];
  }
  return { tokens, next };
}

export async function trainTeacher(
  layers: readonly Layer[],
  shape: TeacherShape,
  o: LmTrainOptions,
): Promise<TrainResult> {
  const graph = buildTrainingGraph(
    layers,
    { name: "tokens", type: "int64", shape: [shape.context] },
    o.vocabSize,
    o.batchSize,
  );
  return train({
    graph,
    inputName: "tokens",
    classes: o.vocabSize,
    steps: o.steps,
    optimizer: o.optimizer,
    onProgress: o.onProgress,
    nextBatch: () => {
      const { tokens, next } = sampleBatch(o, shape.context);
      const target = new Float32Array(o.batchSize * o.vocabSize);
      next.forEach((t, b) => {
        target[b * o.vocabSize + t] = 1;
      });
      return { input: new ort.Tensor("int64", tokens, [o.batchSize, shape.context]), target };
    },
  });
}

export interface DistillOptions extends LmTrainOptions {
  /** The trained teacher's float ONNX. */
  readonly teacherOnnx: Uint8Array;
  readonly teacherContext: number;
  /** Weight of the data's one-hot label in the target; the rest is the teacher's distribution. */
  readonly hardWeight: number;
}

/** Knowledge distillation (Hinton et al. 2015): the student learns the teacher's full next-token distribution. */
export async function distillStudent(
  layers: readonly Layer[],
  shape: StudentShape,
  o: DistillOptions,
): Promise<TrainResult> {
  const teacher = await ort.InferenceSession.create(o.teacherOnnx, trainingSessionOptions());
  const graph = buildTrainingGraph(
    layers,
    { name: "tokens", type: "int64", shape: [shape.context] },
    o.vocabSize,
    o.batchSize,
  );
  const V = o.vocabSize;
  try {
    return await train({
      graph,
      inputName: "tokens",
      classes: V,
      steps: o.steps,
      optimizer: o.optimizer,
      onProgress: o.onProgress,
      nextBatch: async () => {
        const { tokens, next } = sampleBatch(o, o.teacherContext);
        const out = await teacher.run({ tokens: new ort.Tensor("int64", tokens, [o.batchSize, o.teacherContext]) });
        const target = softmaxRows(out[LOGITS_OUTPUT].data as Float32Array, V, 1 - o.hardWeight);
        next.forEach((t, b) => {
          target[b * V + t] += o.hardWeight;
        });
        const studentTokens = new BigInt64Array(o.batchSize * shape.context);
        const drop = o.teacherContext - shape.context;
        for (let b = 0; b < o.batchSize; b++) {
          studentTokens.set(
            tokens.subarray(b * o.teacherContext + drop, (b + 1) * o.teacherContext),
            b * shape.context,
          );
        }
        return { input: new ort.Tensor("int64", studentTokens, [o.batchSize, shape.context]), target };
      },
    });
  } finally {
    await teacher.release();
  }
}

/** Row-wise softmax of `logits` ([rows, width]) times `scale`. */
export function softmaxRows(logits: ArrayLike<number>, width: number, scale = 1): Float32Array {
  const out = new Float32Array(logits.length);
  for (let r = 0; r < logits.length / width; r++) {
    let max = -Infinity;
    for (let j = 0; j < width; j++) max = Math.max(max, logits[r * width + j]);
    let sum = 0;
    for (let j = 0; j < width; j++) sum += Math.exp(logits[r * width + j] - max);
    for (let j = 0; j < width; j++) out[r * width + j] = (scale * Math.exp(logits[r * width + j] - max)) / sum;
  }
  return out;
}

export interface PositionScores {
  /** Negative log-likelihood (nats) of the true next token at each position. */
  readonly nll: Float64Array;
  /** The model's top-1 token at each position. */
  readonly top1: Int32Array;
}

/**
 * Scores an ONNX language model at the given positions. `logitScale` turns integer logits of a
 * quantized model into real ones (1 for float models).
 */
export async function scoreModel(
  onnx: Uint8Array,
  stream: Uint16Array,
  positions: Int32Array,
  context: number,
  eot: number,
  vocabSize: number,
  logitScale = 1,
): Promise<PositionScores> {
  const session = await ort.InferenceSession.create(onnx, trainingSessionOptions());
  const nll = new Float64Array(positions.length);
  const top1 = new Int32Array(positions.length);
  const batch = 512;
  try {
    for (let start = 0; start < positions.length; start += batch) {
      const n = Math.min(batch, positions.length - start);
      const tokens = new BigInt64Array(n * context);
      for (let b = 0; b < n; b++) fillContext(stream, positions[start + b], context, eot, tokens, b * context);
      const out = await session.run({ tokens: new ort.Tensor("int64", tokens, [n, context]) });
      const logits = out[LOGITS_OUTPUT].data as Float32Array;
      for (let b = 0; b < n; b++) {
        const row = logits.subarray(b * vocabSize, (b + 1) * vocabSize);
        let best = 0;
        let max = -Infinity;
        for (let j = 0; j < vocabSize; j++) if (row[j] > max) [max, best] = [row[j], j];
        let sum = 0;
        for (let j = 0; j < vocabSize; j++) sum += Math.exp((row[j] - max) * logitScale);
        const target = stream[positions[start + b]];
        nll[start + b] = Math.log(sum) - (row[target] - max) * logitScale;
        top1[start + b] = best;
      }
    }
  } finally {
    await session.release();
  }
  return { nll, top1 };
}

export interface LmMetrics {
  readonly perplexity: number;
  readonly bits_per_character: number;
  readonly top1_accuracy: number;
  readonly top1_agreement_with_teacher?: number;
}

export function lmMetrics(
  scores: PositionScores,
  stream: Uint16Array,
  positions: Int32Array,
  charsPerToken: number,
  teacher?: PositionScores,
): LmMetrics {
  const n = positions.length;
  const meanNll = scores.nll.reduce((a, b) => a + b, 0) / n;
  let correct = 0;
  let agree = 0;
  for (let i = 0; i < n; i++) {
    if (scores.top1[i] === stream[positions[i]]) correct++;
    if (teacher && scores.top1[i] === teacher.top1[i]) agree++;
  }
  return {
    perplexity: round(Math.exp(meanNll), 4),
    bits_per_character: round(meanNll / Math.LN2 / charsPerToken, 4),
    top1_accuracy: round(correct / n, 4),
    ...(teacher ? { top1_agreement_with_teacher: round(agree / n, 4) } : {}),
  };
}
