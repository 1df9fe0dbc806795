/**
 * bench/models: training speed of the teacher and the student (ms per 256-token step, and the full
 * preset's projected time) and per-token inference latency of each shipped model on onnxruntime-node
 * (CPU). Run: node --import tsx bench/models.ts
 */
import { readFile } from "node:fs/promises";
import ort from "onnxruntime-node";
import { Random } from "../src/core/random.js";
import { Tokenizer } from "../src/model/tokenizer.js";
import { loadLanguageCorpus } from "../src/training/corpora.js";
import { PRESETS, MODEL_IDS, RECIPES } from "../src/training/build-models.js";
import {
  distillStudent,
  encodeStream,
  fillContext,
  STUDENT_SHAPE,
  studentLayers,
  TEACHER_SHAPE,
  teacherLayers,
  trainTeacher,
} from "../src/training/language-models.js";
import { buildInferenceGraph } from "../src/training/training-graph.js";
import { machineLine, markdownTable, percentile, writeSection } from "./report.js";

const STEPS = 40;
const RUNS = 400;

async function perTokenLatency(
  path: string,
  context: number,
  stream: Uint16Array,
  eot: number,
  batch: number,
): Promise<{ p50: number; p99: number; perToken: number }> {
  const session = await ort.InferenceSession.create(await readFile(path), { executionProviders: ["cpu"] });
  const rng = new Random(1);
  const times: number[] = [];
  for (let r = 0; r < RUNS / (batch > 1 ? 4 : 1) + 20; r++) {
    const tokens = new BigInt64Array(batch * context);
    for (let b = 0; b < batch; b++)
      fillContext(stream, 1 + rng.int(stream.length - 1), context, eot, tokens, b * context);
    const t0 = performance.now();
    await session.run({ tokens: new ort.Tensor("int64", tokens, [batch, context]) });
    if (r >= 20) times.push(performance.now() - t0);
  }
  await session.release();
  times.sort((a, b) => a - b);
  return { p50: percentile(times, 0.5), p99: percentile(times, 0.99), perToken: percentile(times, 0.5) / batch };
}

const tokenizer = Tokenizer.fromJSON(
  JSON.parse(await readFile(`artifacts/models/${MODEL_IDS.student}/tokenizer.json`, "utf8")),
);
const corpus = loadLanguageCorpus();
const stream = encodeStream(
  tokenizer,
  corpus.train.slice(0, 40).map((d) => d.text),
);
const V = tokenizer.vocabSize;
const eot = tokenizer.eotId;
const { batchSize, teacherSteps, studentSteps } = PRESETS.full;
const common = { stream, vocabSize: V, eot, steps: STEPS, batchSize, rng: new Random(2) };

const teacher = teacherLayers(V, TEACHER_SHAPE, new Random(3));
const teacherRun = await trainTeacher(teacher, TEACHER_SHAPE, { ...common, optimizer: RECIPES.teacher.optimizer });
const teacherOnnx = buildInferenceGraph(
  "bench-teacher",
  teacher,
  { name: "tokens", type: "int64", shape: [TEACHER_SHAPE.context] },
  V,
);
const studentRun = await distillStudent(studentLayers(V, STUDENT_SHAPE, new Random(4)), STUDENT_SHAPE, {
  ...common,
  optimizer: RECIPES.student.optimizer,
  teacherOnnx,
  teacherContext: TEACHER_SHAPE.context,
  hardWeight: RECIPES.student.hardWeight,
});
const teacherMs = (teacherRun.seconds * 1000) / STEPS;
const studentMs = (studentRun.seconds * 1000) / STEPS;

const training = markdownTable(
  ["model", "ms per step (256 tokens)", "tokens/s", "steps in `models build`", "projected training time"],
  [
    [
      MODEL_IDS.teacher,
      teacherMs.toFixed(1),
      Math.round((batchSize * 1000) / teacherMs),
      teacherSteps,
      `${((teacherMs * teacherSteps) / 60000).toFixed(1)} min`,
    ],
    [
      `${MODEL_IDS.student} (incl. teacher forward)`,
      studentMs.toFixed(1),
      Math.round((batchSize * 1000) / studentMs),
      studentSteps,
      `${((studentMs * studentSteps) / 60000).toFixed(1)} min`,
    ],
  ],
);

const rows: (string | number)[][] = [];
for (const [id, file, context] of [
  [MODEL_IDS.teacher, "model.onnx", TEACHER_SHAPE.context],
  [MODEL_IDS.student, "float.onnx", STUDENT_SHAPE.context],
  [MODEL_IDS.student, "model.onnx", STUDENT_SHAPE.context],
] as const) {
  const one = await perTokenLatency(`artifacts/models/${id}/${file}`, context, stream, eot, 1);
  const many = await perTokenLatency(`artifacts/models/${id}/${file}`, context, stream, eot, 32);
  rows.push([
    `${id} ${file === "float.onnx" ? "(float)" : id === MODEL_IDS.student ? "(integer-exact)" : "(float)"}`,
    one.p50.toFixed(3),
    one.p99.toFixed(3),
    many.perToken.toFixed(4),
  ]);
}
const inference = markdownTable(
  ["model", "batch 1: p50 ms/token", "batch 1: p99 ms/token", "batch 32: ms/token"],
  rows,
);

await writeSection(
  "models",
  `## Models (bench/models)\n\n${machineLine()}. Training runs onnxruntime with one intra-op thread (needed for byte-identical rebuilds).\n\n### Training speed\n\n${training}\n\n### Inference latency per token, onnxruntime-node CPU (\`session.run\` only)\n\n${inference}\n`,
);
