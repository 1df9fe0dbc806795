/**
 * GPU benchmark (issue 8), CPU and CUDA in one run, in-process on the gateway's own engine (the model
 * registry, its continuous batcher and generateText, as /v1/completions drives them; no HTTP):
 *
 * 1. tokens/s and p50/p99 request latency at concurrency 1, 8, 32 and 128 for pg-student and pg-teacher
 *    on each device: greedy completions of a fixed prompt set, MAX_TOKENS each, each device at its
 *    default batch size (DEFAULT_MAX_BATCH) unless BENCH_GPU_MAX_BATCH is set;
 * 2. ≥ 10,000 greedy decoding steps of the provable pg-student over varied prompts, every step run on
 *    CPU and on CUDA through the batcher (batch sizes varying as sequences come and go), comparing each
 *    step's logits bit for bit, and the CPU's with the pure-TypeScript integer reference.
 *
 * CUDA is measured when its provider loads (`make gpu`, then CUDA's libraries on LD_LIBRARY_PATH);
 * otherwise the run says why and measures CPU only. The section goes into docs/BENCHMARKS.md.
 *
 *   node dist/bench/gpu.js                        # after `make build`; how the GPU machine runs it
 *   BENCH_GPU_QUICK=1 node --import tsx bench/gpu.ts   # a shorter run (fewer requests per level)
 *   node dist/bench/gpu.js --apply <section.md>   # writes a section a GPU machine produced into docs/
 *
 * Env: BENCH_MODELS_DIR (default artifacts/models), BENCH_GPU_QUICK=1, BENCH_GPU_DEVICES (default
 * cpu,cuda), BENCH_GPU_MAX_BATCH, BENCH_GPU_STEPS (default 10240), BENCH_GPU_OUT (a folder that also
 * gets section.md and results.json). Target: CUDA ≥ 10× CPU tokens/s at concurrency 128 for pg-teacher.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import { join, resolve } from "node:path";
import { Random } from "../src/core/random.js";
import type { EngineObserver } from "../src/model/engine-observer.js";
import { cudaUnavailableReason, ortNativeDir, type Device } from "../src/model/execution-device.js";
import { argmaxFirst, runIntegerModel } from "../src/model/integer-model.js";
import { DEFAULT_MAX_BATCH, ModelRegistry } from "../src/model/model-registry.js";
import { loadServedModel, type LanguageModel } from "../src/model/served-model.js";
import { generateText } from "../src/model/text-generation.js";
import { loadLanguageCorpus } from "../src/training/corpora.js";
import { closedLoop, machineLine, markdownTable, percentile, writeSection, type ClosedLoopResult } from "./report.js";

const applyAt = process.argv.indexOf("--apply");
if (applyAt >= 0) {
  const file = process.argv[applyAt + 1];
  if (!file || !existsSync(file)) throw new Error("usage: node dist/bench/gpu.js --apply <section.md>");
  await writeSection("gpu", readFileSync(file, "utf8"));
  process.exit(0);
}

const MODELS_DIR = resolve(process.env.BENCH_MODELS_DIR ?? "artifacts/models");
const QUICK = process.env.BENCH_GPU_QUICK === "1";
const MODELS = ["pg-student", "pg-teacher"] as const;
const CONCURRENCY = [1, 8, 32, 128] as const;
const MAX_TOKENS = 64;
/** Requests per level: enough for a p99 at concurrency 1, and at least 4 rounds at 128 (2 quick). */
const REQUESTS: Record<number, number> = QUICK
  ? { 1: 24, 8: 48, 32: 96, 128: 256 }
  : { 1: 100, 8: 160, 32: 320, 128: 640 };
const STEPS = Number(process.env.BENCH_GPU_STEPS ?? 10_240);
const MAX_BATCH = process.env.BENCH_GPU_MAX_BATCH ? Number(process.env.BENCH_GPU_MAX_BATCH) : null;
const OUT = process.env.BENCH_GPU_OUT ? resolve(process.env.BENCH_GPU_OUT) : null;
const WANTED = new Set((process.env.BENCH_GPU_DEVICES ?? "cpu,cuda").split(",").map((d) => d.trim()));
const PROMPTS = [
  "Call me Ishmael. Some years ago, never mind how long precisely,",
  "Mr. Speaker, Mr. Vice President, Members of Congress,",
  "The whale rose slowly from the deep and",
  "Our Nation is strong because",
];

const require = createRequire(import.meta.url);

function gpuLine(): string | null {
  const smi = spawnSync("nvidia-smi", ["--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"], {
    encoding: "utf8",
    timeout: 20_000,
  });
  if (smi.error || smi.status !== 0) return null;
  const gpus = smi.stdout.trim().split("\n").filter(Boolean);
  return gpus.length > 0
    ? gpus
        .map((g) => g.split(",").map((s) => s.trim()))
        .map(([name, driver, mem]) => `${name} (${mem}, driver ${driver})`)
        .join("; ")
    : null;
}

function providerLine(): string {
  const ortVersion = (require("onnxruntime-node/package.json") as { version: string }).version;
  const stamp = join(ortNativeDir(), ".proofgate-cuda-provider");
  const provider = existsSync(stamp) ? readFileSync(stamp, "utf8").trim() : "not installed";
  return `onnxruntime-node ${ortVersion}; CUDA provider: ${provider}`;
}

interface LevelResult {
  readonly model: string;
  readonly device: Device;
  readonly maxBatch: number;
  readonly concurrency: number;
  readonly requests: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly tokensPerSecond: number;
  /** Mean rows per batched step and mean `session.run` time per step. */
  readonly rowsPerStep: number;
  readonly runMsPerStep: number;
}

/** Batched-step statistics, per model, since the last reset. */
class StepStats implements EngineObserver {
  private steps = new Map<string, { steps: number; rows: number; seconds: number }>();
  reset(): void {
    this.steps.clear();
  }
  get(model: string): { steps: number; rows: number; seconds: number } {
    return this.steps.get(model) ?? { steps: 0, rows: 0, seconds: 0 };
  }
  batchRan(model: string, batchSize: number, seconds: number): void {
    const s = this.get(model);
    this.steps.set(model, { steps: s.steps + 1, rows: s.rows + batchSize, seconds: s.seconds + seconds });
  }
  activeChanged(): void {}
  waitingChanged(): void {}
  tokensGenerated(): void {}
}

function runLevel(model: LanguageModel, concurrency: number, requests: number): Promise<ClosedLoopResult> {
  const prompts = PROMPTS.map((p) => model.tokenizer.encode(p));
  return closedLoop(concurrency, requests, async (i) => {
    const result = await generateText({
      model,
      promptTokens: prompts[i % prompts.length]!,
      maxTokens: MAX_TOKENS,
      temperature: 0,
      topP: 1,
      seed: 0,
      stop: [],
      topLogprobs: null,
    });
    return result.completionTokens;
  });
}

async function throughput(
  device: Device,
  maxBatchSize: number | null,
  concurrency: readonly number[],
): Promise<LevelResult[]> {
  const stats = new StepStats();
  const registry = new ModelRegistry({
    roots: [],
    dirs: MODELS.map((m) => join(MODELS_DIR, m)),
    device,
    maxBatchSize,
    maxWaiting: 4096,
    observer: stats,
  });
  await registry.load();
  const maxBatch = registry.maxBatchSize!;
  const results: LevelResult[] = [];
  try {
    for (const id of MODELS) {
      const model = registry.get(id) as LanguageModel;
      // warm-up: ORT's first runs at each batch size pay for allocation (and on CUDA, kernel selection)
      for (const c of concurrency) await runLevel(model, c, c);
      for (const c of concurrency) {
        stats.reset();
        const { latencies, tokens, seconds } = await runLevel(model, c, REQUESTS[c]!);
        const s = stats.get(id);
        const r: LevelResult = {
          model: id,
          device,
          maxBatch,
          concurrency: c,
          requests: REQUESTS[c]!,
          p50Ms: percentile(latencies, 0.5),
          p99Ms: percentile(latencies, 0.99),
          tokensPerSecond: tokens / seconds,
          rowsPerStep: s.rows / s.steps,
          runMsPerStep: (s.seconds * 1000) / s.steps,
        };
        results.push(r);
        console.log(
          `${id} ${device} (max batch ${maxBatch}) c=${c}: p50 ${r.p50Ms.toFixed(1)} ms, p99 ${r.p99Ms.toFixed(1)} ms, ${r.tokensPerSecond.toFixed(0)} tokens/s, ${r.rowsPerStep.toFixed(1)} rows/step, run ${r.runMsPerStep.toFixed(3)} ms/step`,
        );
      }
    }
  } finally {
    await registry.close();
  }
  return results;
}

interface ExactnessResult {
  readonly steps: number;
  readonly sequences: number;
  readonly batchSizes: readonly [number, number];
  readonly distinctBatchSizes: number;
  /** Steps whose CPU logits differ from the integer reference in any entry. */
  readonly cpuVsReference: number;
  /** Steps whose CUDA logits differ from the CPU's in any entry, and whose greedy token differs; null without CUDA. */
  readonly cudaVsCpu: number | null;
  readonly cudaTokenDiffs: number | null;
  readonly seconds: number;
}

/** Prompts: held-out text at seeded offsets and lengths, and every fourth one random token ids. */
function exactnessPrompts(model: LanguageModel, random: Random): { prompts: number[][]; lengths: number[] } {
  const texts = loadLanguageCorpus().heldOut.map((d) => d.text);
  const prompts: number[][] = [];
  const lengths: number[] = [];
  let total = 0;
  while (total < STEPS) {
    const i = prompts.length;
    if (i % 4 === 3) {
      prompts.push(
        Array.from({ length: 1 + random.int(2 * model.contextLength) }, () => random.int(model.tokenizer.vocabSize)),
      );
    } else {
      const text = texts[random.int(texts.length)]!;
      const at = random.int(Math.max(1, text.length - 200));
      const tokens = model.tokenizer.encode(text.slice(at, at + 1 + random.int(160)));
      prompts.push(tokens.length > 0 ? tokens : [random.int(model.tokenizer.vocabSize)]);
    }
    const length = 40 + random.int(160);
    lengths.push(length);
    total += length;
  }
  return { prompts, lengths };
}

async function exactness(devices: readonly Device[]): Promise<ExactnessResult> {
  const sizes: number[] = [];
  const observer: EngineObserver = {
    batchRan: (_m, n) => void sizes.push(n),
    activeChanged() {},
    waitingChanged() {},
    tokensGenerated() {},
  };
  const dir = join(MODELS_DIR, "pg-student");
  const cpu = (await loadServedModel({
    dir,
    device: "cpu",
    maxBatchSize: 64,
    maxWaiting: 4096,
    observer,
  })) as LanguageModel;
  const cuda = devices.includes("cuda")
    ? ((await loadServedModel({ dir, device: "cuda", maxBatchSize: 64, maxWaiting: 4096 })) as LanguageModel)
    : null;
  const { tokenizer, contextLength, integer } = cpu;
  if (!integer) throw new Error("pg-student has no integer-exact graph");
  const { prompts, lengths } = exactnessPrompts(cpu, new Random(20261125));
  let steps = 0;
  let cpuVsReference = 0;
  let cudaVsCpu = 0;
  let cudaTokenDiffs = 0;
  const started = performance.now();
  const sequence = async (prompt: number[], length: number): Promise<void> => {
    // CPU first, then CUDA: every holder of a CUDA slot holds a CPU slot, so neither join can starve
    const cpuSlot = await cpu.batcher.join();
    const cudaSlot = cuda ? await cuda.batcher.join() : null;
    try {
      const history = [...prompt];
      let next: number[] = prompt;
      for (let s = 0; s < length; s++) {
        const [a, b] = await Promise.all([cpuSlot.step(next), cudaSlot?.step(next)]);
        const tail = history.slice(-contextLength);
        const reference = runIntegerModel(integer, [
          ...new Array<number>(contextLength - tail.length).fill(tokenizer.eotId),
          ...tail,
        ]);
        if (a.some((v, i) => v !== reference[i])) cpuVsReference++;
        const token = argmaxFirst(a);
        if (b) {
          if (b.some((v, i) => v !== a[i])) cudaVsCpu++;
          if (argmaxFirst(b) !== token) cudaTokenDiffs++;
        }
        steps++;
        // the same inputs on both devices at every step: the CPU's greedy token (an end-of-text one included)
        history.push(token);
        next = [token];
      }
    } finally {
      cpuSlot.leave();
      cudaSlot?.leave();
    }
  };
  try {
    await Promise.all(prompts.map((p, i) => sequence(p, lengths[i]!)));
  } finally {
    await cpu.session.release();
    await cuda?.session.release();
  }
  return {
    steps,
    sequences: prompts.length,
    batchSizes: [Math.min(...sizes), Math.max(...sizes)],
    distinctBatchSizes: new Set(sizes).size,
    cpuVsReference,
    cudaVsCpu: cuda ? cudaVsCpu : null,
    cudaTokenDiffs: cuda ? cudaTokenDiffs : null,
    seconds: (performance.now() - started) / 1000,
  };
}

// --- run ---------------------------------------------------------------------------------------
const gpu = gpuLine();
const provider = providerLine();
console.log(`machine: ${machineLine()}`);
console.log(`GPU: ${gpu ?? "none found (no nvidia-smi)"}; ${provider}`);
const devices: Device[] = WANTED.has("cpu") ? ["cpu"] : [];
const cudaReason: string | null = WANTED.has("cuda")
  ? await cudaUnavailableReason(join(MODELS_DIR, "pg-student", "model.onnx"))
  : "not requested (BENCH_GPU_DEVICES)";
if (cudaReason === null) devices.push("cuda");
else console.log(`CUDA unavailable: ${cudaReason}`);
if (devices.length === 0)
  throw new Error("no device to measure: BENCH_GPU_DEVICES names neither cpu nor a CUDA that loads");

const levels: LevelResult[] = [];
for (const device of devices) levels.push(...(await throughput(device, MAX_BATCH, CONCURRENCY)));
// At its default batch size the CPU decodes at most 64 of 128 sequences per step; so that CUDA is not
// compared with a CPU held back by that setting, the CPU also runs concurrency 128 at batch 128 and
// the ratio takes the better of the two.
const top = Math.max(...CONCURRENCY);
const cpuAtTop = devices.includes("cpu") && MAX_BATCH === null && DEFAULT_MAX_BATCH.cpu < top;
if (cpuAtTop) levels.push(...(await throughput("cpu", top, [top])));
const exact = devices.includes("cpu") ? await exactness(devices) : null;
if (exact) console.log(`exactness: ${JSON.stringify(exact)}`);

/** The best tokens/s of `device` for (model, concurrency) over the batch sizes measured. */
const at = (model: string, device: Device, c: number): LevelResult | undefined =>
  levels
    .filter((l) => l.model === model && l.device === device && l.concurrency === c)
    .sort((a, b) => b.tokensPerSecond - a.tokensPerSecond)[0];
levels.sort(
  (a, b) =>
    MODELS.indexOf(a.model as (typeof MODELS)[number]) - MODELS.indexOf(b.model as (typeof MODELS)[number]) ||
    a.device.localeCompare(b.device) ||
    a.concurrency - b.concurrency ||
    a.maxBatch - b.maxBatch,
);
const rows = levels.map((l) => {
  const cpuLevel = at(l.model, "cpu", l.concurrency);
  const ratio = l.device === "cuda" && cpuLevel ? `${(l.tokensPerSecond / cpuLevel.tokensPerSecond).toFixed(1)}×` : "";
  return [
    l.model,
    l.device,
    l.maxBatch,
    l.concurrency,
    l.requests,
    l.p50Ms.toFixed(1),
    l.p99Ms.toFixed(1),
    Math.round(l.tokensPerSecond),
    ratio,
    l.rowsPerStep.toFixed(1),
    l.runMsPerStep.toFixed(3),
  ];
});
const cpuOnly = !devices.includes("cuda");
const teacherCpu = at("pg-teacher", "cpu", 128);
const teacherCuda = at("pg-teacher", "cuda", 128);
const lines = [
  "## GPU (bench/gpu)",
  "",
  `${machineLine()}. GPU: ${gpu ?? "none"}. ${provider}.`,
  "",
  ...(cpuOnly
    ? [
        `**CPU only: CUDA pending.** This run had no CUDA (${cudaReason!.replaceAll(`${process.cwd()}/`, "")}); the CUDA rows, the CUDA / CPU`,
        "ratio and the CUDA side of the exactness check come from running this bench on a machine with an NVIDIA GPU (`make gpu`, then `node dist/bench/gpu.js`).",
        "",
      ]
    : []),
  `In-process on the gateway's engine (ModelRegistry, continuous batcher, generateText; no HTTP): greedy completions of ${PROMPTS.length} fixed prompts,`,
  `${MAX_TOKENS} max tokens each, closed loop at each concurrency${QUICK ? " (BENCH_GPU_QUICK: fewer requests per level)" : ""}; each device at its default batch size (${DEFAULT_MAX_BATCH.cpu} on CPU, ${DEFAULT_MAX_BATCH.cuda} on CUDA) unless BENCH_GPU_MAX_BATCH,`,
  cpuAtTop
    ? `and the CPU also at batch ${top} for concurrency ${top}; CUDA / CPU divides by the better CPU row.`
    : "CUDA / CPU divides by the CPU row.",
  "Tokens/s counts generated tokens; rows/step and session.run ms/step are the engine's batched steps during the level.",
  "",
  markdownTable(
    [
      "model",
      "device",
      "max batch",
      "concurrency",
      "requests",
      "p50 ms",
      "p99 ms",
      "tokens/s",
      "CUDA / CPU",
      "rows/step",
      "session.run ms/step",
    ],
    rows,
  ),
  "",
  teacherCpu && teacherCuda
    ? `pg-teacher at concurrency 128: CUDA ${Math.round(teacherCuda.tokensPerSecond)} vs CPU ${Math.round(teacherCpu.tokensPerSecond)} tokens/s = **${(teacherCuda.tokensPerSecond / teacherCpu.tokensPerSecond).toFixed(1)}×** (target ≥ 10×).`
    : "pg-teacher at concurrency 128, CUDA vs CPU (target ≥ 10×): pending a CUDA run.",
  "",
  ...(exact
    ? [
        `Exactness: ${exact.steps.toLocaleString("en-US")} greedy decoding steps of pg-student (${exact.sequences} sequences over held-out text and random tokens, batch sizes ${exact.batchSizes[0]}–${exact.batchSizes[1]}, ${exact.distinctBatchSizes} distinct), ${exact.seconds.toFixed(1)} s:`,
        `CPU logits ≠ integer reference in **${exact.cpuVsReference}** steps; ` +
          (exact.cudaVsCpu === null
            ? "CUDA vs CPU: pending a CUDA run."
            : `CUDA logits ≠ CPU logits in **${exact.cudaVsCpu}** steps, greedy token differs in **${exact.cudaTokenDiffs}** (target 0).`),
      ]
    : ["Exactness: not run (needs the CPU device)."]),
  "",
];
const section = lines.join("\n");
if (OUT) {
  mkdirSync(OUT, { recursive: true });
  writeFileSync(join(OUT, "section.md"), section);
  writeFileSync(
    join(OUT, "results.json"),
    JSON.stringify(
      { machine: machineLine(), cpus: os.cpus().length, gpu, provider, cudaReason, levels, exactness: exact },
      null,
      2,
    ),
  );
}
await writeSection("gpu", section);
