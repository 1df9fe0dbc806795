/**
 * Gateway benchmark: p50/p99 request latency and tokens/s at concurrency 1, 8 and 32 for pg-student and
 * pg-teacher through the real HTTP server (`proofgate serve` in a child process), beside raw
 * `session.run` per decoding step at the same batch size as the reference. Prints a markdown table.
 *
 *   node --import tsx bench/gateway.ts            # models from artifacts/models
 *   BENCH_MODELS_DIR=/tmp/smoke1 node --import tsx bench/gateway.ts
 *
 * Targets (issue 3): the gateway adds ≤ 10% per token at concurrency 1; tokens/s at concurrency 32 is
 * ≥ 4× concurrency 1.
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { Agent, request } from "node:http";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import * as ort from "onnxruntime-node";
import { sessionOptions } from "../src/model/execution-device.js";
import { closedLoop, machineLine, percentile, writeSection } from "./report.js";

const MODELS_DIR = resolve(process.env.BENCH_MODELS_DIR ?? "artifacts/models");
const MODELS = ["pg-student", "pg-teacher"] as const;
const CONCURRENCY = [1, 8, 32] as const;
const MAX_TOKENS = 64;
/** Requests per concurrency level: enough for a p99 at concurrency 1, at least 4 rounds at 32. */
const REQUESTS = { 1: 60, 8: 96, 32: 192 } as const;
const PORT = Number(process.env.BENCH_PORT ?? 18181);
const PROMPTS = [
  "Call me Ishmael. Some years ago, never mind how long precisely,",
  "Mr. Speaker, Mr. Vice President, Members of Congress,",
  "The whale rose slowly from the deep and",
  "Our Nation is strong because",
];

interface LevelResult {
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly tokensPerSecond: number;
  readonly msPerToken: number;
}

/** Raw reference: ms of one `session.run` step at `batch` rows, plus greedy arg-max of each row. */
async function rawStepMs(modelDir: string, batch: number): Promise<number> {
  const session = await ort.InferenceSession.create(join(modelDir, "model.onnx"), sessionOptions("cpu"));
  const meta = session.inputMetadata[0]!;
  const context = Number(
    (meta as ort.InferenceSession.ValueMetadata & { shape: readonly (number | string)[] }).shape[1],
  );
  const tokens = new BigInt64Array(batch * context).map((_, i) => BigInt((i * 7) % 200));
  const step = async (): Promise<void> => {
    const out = await session.run({ [meta.name]: new ort.Tensor("int64", tokens, [batch, context]) }, ["logits"]);
    const logits = out.logits!.data as Float32Array;
    const width = logits.length / batch;
    for (let r = 0; r < batch; r++) {
      let best = 0;
      for (let i = 1; i < width; i++) if (logits[r * width + i]! > logits[r * width + best]!) best = i;
      tokens[r * context] = BigInt(best);
    }
  };
  for (let i = 0; i < 50; i++) await step();
  const steps = 500;
  const started = performance.now();
  for (let i = 0; i < steps; i++) await step();
  const ms = (performance.now() - started) / steps;
  await session.release();
  return ms;
}

/**
 * The client shares the CPU with the server, so it is kept light: node:http on keep-alive connections
 * (fetch costs the client several times more CPU per request, time taken from the server).
 */
const agent = new Agent({ keepAlive: true, maxSockets: Math.max(...CONCURRENCY) });

function postJson(url: string, body: unknown): Promise<{ status: number; body: unknown }> {
  const payload = JSON.stringify(body);
  return new Promise((resolvePost, reject) => {
    const req = request(
      url,
      {
        method: "POST",
        agent,
        headers: { "content-type": "application/json", "content-length": Buffer.byteLength(payload) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () =>
          resolvePost({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString("utf8")) }),
        );
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(payload);
  });
}

async function runLevel(baseUrl: string, model: string, concurrency: number, requests: number): Promise<LevelResult> {
  const { latencies, tokens, seconds } = await closedLoop(concurrency, requests, async (i) => {
    const res = await postJson(`${baseUrl}/v1/completions`, {
      model,
      prompt: PROMPTS[i % PROMPTS.length],
      max_tokens: MAX_TOKENS,
      temperature: 0,
    });
    const body = res.body as { usage?: { completion_tokens: number }; error?: unknown };
    if (res.status !== 200 || !body.usage) throw new Error(`request failed: ${res.status} ${JSON.stringify(body)}`);
    return body.usage.completion_tokens;
  });
  const meanLatency = latencies.reduce((a, b) => a + b, 0) / latencies.length;
  return {
    p50Ms: percentile(latencies, 0.5),
    p99Ms: percentile(latencies, 0.99),
    tokensPerSecond: tokens / seconds,
    msPerToken: meanLatency / (tokens / latencies.length),
  };
}

async function startServer(): Promise<{ url: string; stop(): Promise<void> }> {
  const child = spawn(process.execPath, ["--import", import.meta.resolve("tsx"), resolve("src/main.ts"), "serve"], {
    // a working directory without artifacts/, so exactly the benchmarked model folders are served
    cwd: tmpdir(),
    env: {
      ...process.env,
      PORT: String(PORT),
      PROOFGATE_MODELS: MODELS.map((m) => join(MODELS_DIR, m)).join(","),
      PROOFGATE_LOG_LEVEL: "warn",
      PROOFGATE_DEVICE: "cpu",
      NODE_OPTIONS: "",
    },
    stdio: ["ignore", "inherit", "inherit"],
  });
  const url = `http://127.0.0.1:${PORT}`;
  for (let i = 0; i < 600; i++) {
    const ok = await fetch(`${url}/health`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    async stop() {
      child.kill("SIGTERM");
      await once(child, "exit");
    },
  };
}

const raw = new Map<string, number>();
for (const model of MODELS)
  for (const c of CONCURRENCY) raw.set(`${model}/${c}`, await rawStepMs(join(MODELS_DIR, model), c));

const server = await startServer();
const rows: string[] = [];
const summary: string[] = [];
try {
  for (const model of MODELS) {
    // warm-up: first requests pay for lazy initialisation in the server and ORT
    await runLevel(server.url, model, 4, 8);
    const results = new Map<number, LevelResult>();
    for (const c of CONCURRENCY) {
      const r = await runLevel(server.url, model, c, REQUESTS[c]);
      results.set(c, r);
      const step = raw.get(`${model}/${c}`)!;
      rows.push(
        `| ${model} | ${c} | ${REQUESTS[c]} | ${r.p50Ms.toFixed(1)} | ${r.p99Ms.toFixed(1)} | ${r.tokensPerSecond.toFixed(0)} | ${step.toFixed(3)} | ${((c * 1000) / step).toFixed(0)} |`,
      );
    }
    const one = results.get(1)!;
    const overhead = one.msPerToken / raw.get(`${model}/1`)! - 1;
    const lift = results.get(32)!.tokensPerSecond / one.tokensPerSecond;
    summary.push(
      `- ${model}: gateway per-token time at concurrency 1 is ${one.msPerToken.toFixed(3)} ms vs raw step ${raw.get(`${model}/1`)!.toFixed(3)} ms → overhead ${(overhead * 100).toFixed(1)}% (target ≤ 10%); tokens/s lift at 32 vs 1: ${lift.toFixed(1)}× (target ≥ 4×)`,
    );
  }
} finally {
  agent.destroy();
  await server.stop();
}

await writeSection(
  "gateway",
  [
    "## Gateway (bench/gateway)",
    "",
    `${machineLine()}. Models from ${MODELS_DIR}; ${MAX_TOKENS} max tokens per request, greedy, non-streamed /v1/completions; client and server share the machine.`,
    "",
    "| model | concurrency | requests | p50 latency ms | p99 latency ms | tokens/s | raw session.run ms/step (batch = concurrency) | raw tokens/s |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ...rows,
    "",
    ...summary,
    "",
  ].join("\n"),
);
