/**
 * bench/load: the gateway as a separate `proofgate serve` process (its own RSS, measured from /proc),
 * on loopback only, under bounded load and abuse:
 *   1. a proof backlog on an empty queue: one 256-step completion, then small inferences — their
 *      time to `proved`;
 *   2. mixed traffic for LOAD_SECONDS: interactive chat, long unproven completions, inferences and
 *      malformed requests from the API fuzzer, several clients at once;
 *   3. abuse cases, each with /health polled beside it: 300 prompts of ~1 MB, each one long distinct
 *      "word"; 100 streams that never read; oversized answers (n × max_tokens × logprobs).
 * Reports requests/s, p50/p99, 5xx (target 0), RSS (target flat; < 1 GB in the word attack), the
 * heap after a full GC and the server's own event loop delay (bench/serve-probe.ts), and /health
 * p99 (target < 100 ms) per case, into docs/BENCHMARKS.md.
 * Run: node --import tsx bench/load.ts [load seconds, default 120] [cases, default all: backlog,mixed,words,silent,oversized]
 * (after `make build`; a run of some cases prints its table and leaves docs/BENCHMARKS.md alone)
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { request as httpRequest } from "node:http";
import os, { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../src/chain/anvil.js";
import { sleep } from "../src/core/sleep.js";
import { ApiFuzzer } from "../test/fixtures/api-fuzz.js";
import { seededRandom } from "../test/fixtures/seeded-random.js";
import { machineLine, markdownTable, percentile, writeSection } from "./report.js";
import type { ProbeSample } from "./serve-probe.js";
import type { ProofOrder } from "../src/config/config.js";

const LOAD_SECONDS = Number(process.argv[2] ?? 120);
const CASES = ["backlog", "mixed", "words", "silent", "oversized"] as const;
const selected = new Set(process.argv[3]?.split(",") ?? CASES);
for (const name of selected)
  if (!CASES.includes(name as (typeof CASES)[number]))
    throw new Error(`unknown case ${name}; the cases: ${CASES.join(",")}`);
const SMALL_PROOFS = 8;
/** A small proof is sent this often while the long completion proves. */
const SMALL_EVERY_MS = 2000;
/** The backlog case runs once per proof order, each on a gateway of its own: fifo is the "before". */
const PROOF_ORDERS: readonly { order: ProofOrder; label: string }[] = [
  { order: "fifo", label: "before: fifo" },
  { order: "fair", label: "after: fair" },
];
/** PROVERS=0 runs the same traffic with proving off, to tell proving's share of the server's CPU. */
const serveProvers = process.env.PROVERS ?? "1";

const rssMb = (pid: number): number =>
  Math.round(Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]) / 1024);

interface Serve {
  readonly url: string;
  readonly pid: number;
  /** The server's loop delay since the last probe, then its memory after a full GC (the GC is not in the delay). */
  probe(): Promise<ProbeSample>;
  stop(): Promise<void>;
}

async function startServe(env: NodeJS.ProcessEnv = {}): Promise<Serve> {
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), "pg-load-"));
  const child = spawn(
    process.execPath,
    ["--expose-gc", "--import", "./dist/bench/serve-probe.js", "bin/proofgate.js", "serve"],
    {
      env: {
        ...process.env,
        PORT: String(port),
        PROOFGATE_DATA_DIR: dataDir,
        PROOFGATE_SUBMIT: "none",
        PROOFGATE_LOG_LEVEL: "warn",
        PROVERS: serveProvers,
        REDIS_URL: "redis://127.0.0.1:1",
        ...env,
      },
      stdio: ["ignore", "ignore", "inherit", "ipc"],
    },
  );
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 600; i++) {
    const up = await fetch(`${url}/health`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (up) break;
    await sleep(200);
  }
  return {
    url,
    pid: child.pid!,
    probe: () =>
      new Promise((resolve) => {
        child.once("message", (sample) => resolve(sample as ProbeSample));
        child.send("sample");
      }),
    async stop() {
      child.kill("SIGTERM");
      await new Promise((resolve) => child.once("exit", resolve));
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * /health latencies while `during` runs, measured from a process of their own: this one is busy
 * sending the load, and its event loop would add its own delays to the server's.
 */
const HEALTH_POLLER = `
const url = process.argv[1];
const latencies = [];
let running = true;
process.stdin.on("data", () => (running = false));
(async () => {
  while (running) {
    const started = performance.now();
    await fetch(url + "/health", { signal: AbortSignal.timeout(30000) }).catch(() => undefined);
    latencies.push(performance.now() - started);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  process.stdout.write(JSON.stringify(latencies));
})();
`;

interface Measured<T> {
  readonly result: T;
  /** /health latencies, ascending. */
  readonly health: number[];
  /** [seconds since the start, RSS MB] every RSS_EVERY_MS. */
  readonly rss: [number, number][];
  readonly before: ProbeSample;
  readonly after: ProbeSample;
}

const RSS_EVERY_MS = 2000;

/**
 * Runs `during` with /health polled beside it, from a process of its own (this one is busy sending
 * the load, and its event loop would add its own delays to the server's), and the server's RSS
 * sampled from /proc; the probe before and after gives the heap after GC and the loop's delay.
 */
async function measure<T>(serve: Serve, during: () => Promise<T>): Promise<Measured<T>> {
  const before = await serve.probe();
  const poller = spawn(process.execPath, ["-e", HEALTH_POLLER, serve.url], { stdio: ["pipe", "pipe", "inherit"] });
  let out = "";
  poller.stdout.on("data", (d: Buffer) => (out += d.toString()));
  const exited = new Promise((resolve) => poller.once("exit", resolve));
  const started = performance.now();
  const rss: [number, number][] = [[0, rssMb(serve.pid)]];
  const sampler = setInterval(() => rss.push([(performance.now() - started) / 1000, rssMb(serve.pid)]), RSS_EVERY_MS);
  const result = await during();
  clearInterval(sampler);
  rss.push([(performance.now() - started) / 1000, rssMb(serve.pid)]);
  poller.stdin.end("stop\n");
  await exited;
  const after = await serve.probe();
  return { result, health: (JSON.parse(out) as number[]).sort((a, b) => a - b), rss, before, after };
}

/** Least-squares slope of RSS over the second half of a case (the first is warm-up), MB per minute. */
function rssSlope(rss: readonly [number, number][]): number {
  const tail = rss.slice(Math.floor(rss.length / 2));
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const t = mean(tail.map(([x]) => x));
  const m = mean(tail.map(([, y]) => y));
  const variance = tail.reduce((sum, [x]) => sum + (x - t) ** 2, 0);
  return variance === 0 ? 0 : (tail.reduce((sum, [x, y]) => sum + (x - t) * (y - m), 0) / variance) * 60;
}

/** The memory and loop columns of a case's row. */
function memoryColumns(m: Measured<unknown>): string[] {
  const slope = rssSlope(m.rss);
  // a slope over a few seconds says nothing: only for cases of half a minute or more
  const trend = m.rss.at(-1)![0] >= 30 ? `; ${slope >= 0 ? "+" : ""}${slope.toFixed(1)}/min after warm-up` : "";
  return [
    `${m.rss[0]![1]} → ${m.rss.at(-1)![1]} (max ${Math.max(...m.rss.map(([, y]) => y))}${trend})`,
    `${m.before.memory.heapUsed} → ${m.after.memory.heapUsed}`,
    `${m.after.loop.p99} / ${m.after.loop.max}`,
    ms(m.health, 0.99),
  ];
}

const post = (url: string, path: string, body: unknown) =>
  fetch(`${url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(120_000),
  });

interface LoadResult {
  readonly requests: number;
  readonly latencies: number[];
  readonly fivexx: number;
}

async function mixedLoad(url: string, seconds: number): Promise<LoadResult> {
  const document = (await (await fetch(`${url}/openapi.json`)).json()) as ConstructorParameters<typeof ApiFuzzer>[0];
  const fuzzer = new ApiFuzzer(document, seededRandom(7));
  const kinds: (() => Promise<Response>)[] = [
    () =>
      post(url, "/v1/chat/completions", {
        model: "pg-student",
        messages: [{ role: "user", content: "Call me Ishmael." }],
        max_tokens: 8,
      }),
    () => post(url, "/v1/completions", { model: "pg-teacher", prompt: "The whale", max_tokens: 256 }),
    () => post(url, "/v1/inferences", { model: "pg-spam", input: "Win money now, click here" }),
    () => {
      const c = fuzzer.next();
      return fetch(`${url}${c.url}`, {
        method: c.method,
        headers: c.headers,
        body: c.body,
        signal: AbortSignal.timeout(120_000),
      });
    },
  ];
  const latencies: number[] = [];
  let fivexx = 0;
  const until = performance.now() + seconds * 1000;
  const client = async (k: number) => {
    for (let i = k; performance.now() < until; i++) {
      const started = performance.now();
      const res = await kinds[i % kinds.length]!().catch(() => null);
      await res?.arrayBuffer().catch(() => undefined);
      latencies.push(performance.now() - started);
      if (!res || res.status >= 500) fivexx++;
    }
  };
  await Promise.all(Array.from({ length: 8 }, (_, k) => client(k)));
  return { requests: latencies.length, latencies: latencies.sort((a, b) => a - b), fivexx };
}

async function provedAfter(url: string, id: string, started: number): Promise<number> {
  for (;;) {
    const record = (await (await fetch(`${url}/v1/proofs/${id}?wait=60`)).json()) as { status: string; error?: string };
    if (record.status === "proved") return (performance.now() - started) / 1000;
    if (record.status === "failed") throw new Error(`${id} failed: ${record.error}`);
  }
}

/** Small proofs' time to proved while a long completion's 256 step proofs are queued ahead of them. */
/** Times to proved of small proofs sent every SMALL_EVERY_MS while a 256-step completion proves. */
async function backlog(url: string): Promise<{ times: number[]; longSteps: number }> {
  const long = (await (
    await post(url, "/v1/completions", { model: "pg-student", prompt: "The sea", max_tokens: 256, stop: null })
  ).json()) as {
    proof?: { id: string };
    usage: { completion_tokens: number };
  };
  if (!long.proof) throw new Error("the long completion was not proven");
  const times = await Promise.all(
    Array.from({ length: SMALL_PROOFS }, async (_, i) => {
      await sleep(i * SMALL_EVERY_MS);
      const started = performance.now();
      const small = (await (
        await post(url, "/v1/inferences", { model: "pg-spam", input: `note ${i}: lunch at noon?` })
      ).json()) as { proof: { id: string } };
      return provedAfter(url, small.proof.id, started);
    }),
  );
  return { times: times.sort((a, b) => a - b), longSteps: long.usage.completion_tokens };
}

/** Answers by status to 300 prompts of ~1 MB, each a distinct random "word". */
async function wordAttack(url: string, bodies: readonly string[]): Promise<Record<string, number>> {
  const statuses: Record<string, number> = {};
  for (const body of bodies) {
    const res = await fetch(`${url}/v1/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
      signal: AbortSignal.timeout(120_000),
    }).catch((err: unknown) => err as Error);
    if (!(res instanceof Error)) await res.arrayBuffer().catch(() => undefined);
    // a request with no answer is counted by why: a timeout, or the socket's error code
    const key =
      res instanceof Error
        ? `no answer (${(res.cause as { code?: string } | undefined)?.code ?? res.name})`
        : String(res.status);
    statuses[key] = (statuses[key] ?? 0) + 1;
  }
  return statuses;
}

async function silentStreams(url: string): Promise<number> {
  const body = JSON.stringify({
    model: "pg-teacher",
    messages: [{ role: "user", content: "Go on" }],
    max_tokens: 4096,
    logprobs: true,
    top_logprobs: 20,
    stream: true,
  });
  const closed = await Promise.all(
    Array.from(
      { length: 100 },
      () =>
        new Promise<boolean>((resolve) => {
          const req = httpRequest(
            `${url}/v1/chat/completions`,
            { method: "POST", headers: { "content-type": "application/json" } },
            (res) => {
              res.pause(); // never read
              setTimeout(() => {
                resolve(res.socket?.destroyed ?? true);
                req.destroy();
              }, 45_000);
            },
          );
          req.on("error", () => resolve(true));
          req.end(body);
        }),
    ),
  );
  return closed.filter(Boolean).length;
}

async function oversized(url: string): Promise<number> {
  let refused = 0;
  for (let i = 0; i < 20; i++) {
    const res = await post(url, "/v1/chat/completions", {
      model: "pg-teacher",
      messages: [{ role: "user", content: "x" }],
      max_tokens: 4096,
      n: 16,
      logprobs: true,
      top_logprobs: 20,
    });
    await res.arrayBuffer();
    if (res.status === 400) refused++;
  }
  return refused;
}

const rows: (string | number)[][] = [];
const ms = (xs: number[], p: number) => (xs.length ? percentile(xs, p).toFixed(1) : "–");
// first, each order on a gateway of its own with an empty queue: the small proofs wait for nothing but the long completion
for (const { order, label } of selected.has("backlog") ? PROOF_ORDERS : []) {
  const own = await startServe({ PROOFGATE_PROOF_ORDER: order });
  try {
    const proofs = await measure(own, () => backlog(own.url));
    const s = (p: number) => percentile(proofs.result.times, p).toFixed(1);
    rows.push([
      `${SMALL_PROOFS} small proofs behind a 256-step completion (${proofs.result.longSteps} steps), ${label}`,
      `time to proved p50 ${s(0.5)} s, p99 ${s(0.99)} s, max ${proofs.result.times.at(-1)!.toFixed(1)} s`,
      0,
      ...memoryColumns(proofs),
    ]);
  } finally {
    await own.stop();
  }
}

const serve = await startServe();
try {
  if (selected.has("mixed")) {
    const load = await measure(serve, () => mixedLoad(serve.url, LOAD_SECONDS));
    rows.push([
      `mixed traffic, 8 clients, ${LOAD_SECONDS} s`,
      `${(load.result.requests / LOAD_SECONDS).toFixed(1)} req/s, p50 ${ms(load.result.latencies, 0.5)} ms, p99 ${ms(load.result.latencies, 0.99)} ms`,
      load.result.fivexx,
      ...memoryColumns(load),
    ]);
  }

  if (selected.has("words")) {
    // the 300 distinct words are made before the clock runs: making them would busy this process
    const random = seededRandom(3);
    const letters = "abcdefghijklmnopqrstuvwxyz";
    const bodies = Array.from({ length: 300 }, () => {
      const word = Array.from({ length: 1_000_000 - 200 }, () => letters[Math.floor(random() * 26)]).join("");
      return JSON.stringify({ model: "pg-teacher", prompt: word, max_tokens: 1, proof: false });
    });
    // Making them blocks this loop for longer than the server's 5 s keep-alive: the sockets pooled
    // from the last case are closed by then, but only a turn of the loop tells fetch so, and without
    // it the first request is written into a closed socket (ECONNRESET, the one "no answer" of before).
    await sleep(100);
    const words = await measure(serve, () => wordAttack(serve.url, bodies));
    const fivexx = Object.entries(words.result)
      .filter(([status]) => !/^[1-4]/.test(status))
      .reduce((sum, [, n]) => sum + n, 0);
    const answers = Object.entries(words.result)
      .map(([status, n]) => `${status}: ${n}`)
      .join(", ");
    rows.push(["300 prompts of ~1 MB, each one distinct word", answers, fivexx, ...memoryColumns(words)]);
  }

  if (selected.has("silent")) {
    const streams = await measure(serve, () => silentStreams(serve.url));
    rows.push([
      "100 streams that never read (45 s)",
      `${streams.result} of 100 dropped by the server`,
      0,
      ...memoryColumns(streams),
    ]);
  }

  if (selected.has("oversized")) {
    const big = await measure(serve, () => oversized(serve.url));
    rows.push([
      "20 answers of 4096 tokens × n 16 × 20 logprobs",
      `${big.result} of 20 refused with 400`,
      0,
      ...memoryColumns(big),
    ]);
  }
} finally {
  await serve.stop();
}
const section = `## Load and abuse

${machineLine()}, load average ${os.loadavg()[0]!.toFixed(1)} at the end. \`node --import tsx bench/load.ts ${LOAD_SECONDS}\`: \`proofgate serve\` in its own process (SQLite, in-process queue, ${serveProvers} prover${serveProvers === "1" ? "" : "s"}, no chain), loopback only. RSS of that process from /proc every ${RSS_EVERY_MS / 1000} s, its slope fitted over each case's second half; heap after a full GC and the server's event loop delay (monitorEventLoopDelay) from bench/serve-probe.ts inside it; /health polled every 50 ms beside each case, from a process of its own.

${markdownTable(["case", "result", "5xx", "gateway RSS (MB)", "heap after GC (MB)", "server loop delay p99 / max (ms)", "/health p99 (ms)"], rows)}
`;
if (selected.size === CASES.length) await writeSection("load", section);
else console.log(section);
