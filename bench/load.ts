/**
 * bench/load: the gateway as a separate `proofgate serve` process (its own RSS, measured from /proc),
 * on loopback only, under bounded load and abuse:
 *   1. a proof backlog on an empty queue, under each PROOFGATE_PROOF_ORDER (fifo = before fair
 *      scheduling, fair = after), each on a gateway of its own: one 256-step completion, then small
 *      inferences sent while it proves — their time to `proved`, p50/p99/max;
 *   2. mixed traffic for LOAD_SECONDS: interactive chat, long unproven completions, inferences and
 *      malformed requests from the API fuzzer, several clients at once;
 *   3. abuse cases, each with /health polled beside it: 300 prompts of ~1 MB, each one long distinct
 *      "word"; 100 streams that never read; oversized answers (n × max_tokens × logprobs).
 * Reports requests/s, p50/p99, 5xx (target 0), RSS before/after (target flat; < 1 GB in the word
 * attack) and /health p99 (target < 100 ms) per case, into docs/BENCHMARKS.md.
 * Run: node --import tsx bench/load.ts [load seconds, default 120] [small proofs, default 8]   (after `make build`)
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../src/chain/anvil.js";
import type { ProofOrder } from "../src/config/config.js";
import { ApiFuzzer } from "../test/fixtures/api-fuzz.js";
import { seededRandom } from "../test/fixtures/seeded-random.js";
import { machineLine, markdownTable, percentile, writeSection } from "./report.js";

const LOAD_SECONDS = Number(process.argv[2] ?? 120);
const SMALL_PROOFS = Number(process.argv[3] ?? 8);
/** A small proof is sent this often while the long completion proves. */
const SMALL_EVERY_MS = 2000;
const PROOF_ORDERS: readonly { order: ProofOrder; label: string }[] = [
  { order: "fifo", label: "before: fifo" },
  { order: "fair", label: "after: fair" },
];

const rssMb = (pid: number): number => Math.round(Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]) / 1024);

async function startServe(env: NodeJS.ProcessEnv = {}): Promise<{ url: string; pid: number; stop(): Promise<void> }> {
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), "pg-load-"));
  const child = spawn(process.execPath, ["bin/proofgate.js", "serve"], {
    env: { ...process.env, PORT: String(port), PROOFGATE_DATA_DIR: dataDir, PROOFGATE_SUBMIT: "none", PROOFGATE_LOG_LEVEL: "warn", PROVERS: "1", REDIS_URL: "redis://127.0.0.1:1", ...env },
    stdio: ["ignore", "ignore", "inherit"],
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 600; i++) {
    const up = await fetch(`${url}/health`).then((r) => r.status === 200, () => false);
    if (up) break;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return {
    url,
    pid: child.pid!,
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

async function withHealth<T>(url: string, during: () => Promise<T>): Promise<{ result: T; health: number[] }> {
  const poller = spawn(process.execPath, ["-e", HEALTH_POLLER, url], { stdio: ["pipe", "pipe", "inherit"] });
  let out = "";
  poller.stdout.on("data", (d: Buffer) => (out += d.toString()));
  const exited = new Promise((resolve) => poller.once("exit", resolve));
  const result = await during();
  poller.stdin.end("stop\n");
  await exited;
  return { result, health: (JSON.parse(out) as number[]).sort((a, b) => a - b) };
}

const post = (url: string, path: string, body: unknown) =>
  fetch(`${url}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body), signal: AbortSignal.timeout(120_000) });

interface LoadResult {
  readonly requests: number;
  readonly latencies: number[];
  readonly fivexx: number;
}

async function mixedLoad(url: string, seconds: number): Promise<LoadResult> {
  const document = (await (await fetch(`${url}/openapi.json`)).json()) as ConstructorParameters<typeof ApiFuzzer>[0];
  const fuzzer = new ApiFuzzer(document, seededRandom(7));
  const kinds: (() => Promise<Response>)[] = [
    () => post(url, "/v1/chat/completions", { model: "pg-student", messages: [{ role: "user", content: "Call me Ishmael." }], max_tokens: 8 }),
    () => post(url, "/v1/completions", { model: "pg-teacher", prompt: "The whale", max_tokens: 256 }),
    () => post(url, "/v1/inferences", { model: "pg-spam", input: "Win money now, click here" }),
    () => {
      const c = fuzzer.next();
      return fetch(`${url}${c.url}`, { method: c.method, headers: c.headers, body: c.body, signal: AbortSignal.timeout(120_000) });
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

interface BacklogResult {
  /** Seconds from each small proof's POST to `proved`, ascending. */
  readonly times: number[];
  /** Step proofs of the long completion (its generated tokens). */
  readonly longSteps: number;
  readonly health: number[];
  readonly rss: string;
}

/**
 * Small proofs' time to proved while a long completion's step proofs are queued ahead of them, under
 * one proof order, on a gateway of its own with an empty queue: the long completion first, then a
 * small inference every SMALL_EVERY_MS (not waiting for the last one), each timed to `proved`.
 */
async function backlog(order: ProofOrder): Promise<BacklogResult> {
  const serve = await startServe({ PROOFGATE_PROOF_ORDER: order });
  try {
    const before = rssMb(serve.pid);
    const { result, health } = await withHealth(serve.url, async () => {
      const long = (await (await post(serve.url, "/v1/completions", { model: "pg-student", prompt: "The sea", max_tokens: 256, stop: null })).json()) as {
        proof?: { id: string };
        usage: { completion_tokens: number };
      };
      if (!long.proof) throw new Error("the long completion was not proven");
      const times = await Promise.all(
        Array.from({ length: SMALL_PROOFS }, async (_, i) => {
          await new Promise((resolve) => setTimeout(resolve, i * SMALL_EVERY_MS));
          const started = performance.now();
          const small = (await (await post(serve.url, "/v1/inferences", { model: "pg-spam", input: `note ${i}: lunch at noon?` })).json()) as { proof: { id: string } };
          return provedAfter(serve.url, small.proof.id, started);
        }),
      );
      return { times: times.sort((a, b) => a - b), longSteps: long.usage.completion_tokens };
    });
    return { ...result, health, rss: `${before} → ${rssMb(serve.pid)} MB` };
  } finally {
    await serve.stop();
  }
}

/** Answers by status to 300 prompts of ~1 MB, each a distinct random "word". */
async function wordAttack(url: string, bodies: readonly string[]): Promise<Record<string, number>> {
  const statuses: Record<string, number> = {};
  for (const body of bodies) {
    const res = await fetch(`${url}/v1/completions`, { method: "POST", headers: { "content-type": "application/json" }, body, signal: AbortSignal.timeout(120_000) }).catch(() => null);
    await res?.arrayBuffer().catch(() => undefined);
    const key = res ? String(res.status) : "no answer";
    statuses[key] = (statuses[key] ?? 0) + 1;
  }
  return statuses;
}

async function silentStreams(url: string): Promise<number> {
  const body = JSON.stringify({ model: "pg-teacher", messages: [{ role: "user", content: "Go on" }], max_tokens: 4096, logprobs: true, top_logprobs: 20, stream: true });
  const closed = await Promise.all(
    Array.from(
      { length: 100 },
      () =>
        new Promise<boolean>((resolve) => {
          const req = httpRequest(`${url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" } }, (res) => {
            res.pause(); // never read
            setTimeout(() => {
              resolve(res.socket?.destroyed ?? true);
              req.destroy();
            }, 45_000);
          });
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
    const res = await post(url, "/v1/chat/completions", { model: "pg-teacher", messages: [{ role: "user", content: "x" }], max_tokens: 4096, n: 16, logprobs: true, top_logprobs: 20 });
    await res.arrayBuffer();
    if (res.status === 400) refused++;
  }
  return refused;
}

const rows: (string | number)[][] = [];
const ms = (xs: number[], p: number) => (xs.length ? percentile(xs, p).toFixed(1) : "–");
// first, each on an empty queue: the small proofs wait for nothing but the long completion ahead of them
for (const { order, label } of PROOF_ORDERS) {
  const proofs = await backlog(order);
  const s = (p: number) => percentile(proofs.times, p).toFixed(1);
  rows.push([
    `${SMALL_PROOFS} small proofs behind a 256-step completion (${proofs.longSteps} steps), ${label}`,
    `time to proved p50 ${s(0.5)} s, p99 ${s(0.99)} s, max ${proofs.times.at(-1)!.toFixed(1)} s`,
    0,
    proofs.rss,
    ms(proofs.health, 0.99),
  ]);
}

const serve = await startServe();
try {
  let at = rssMb(serve.pid);
  const load = await withHealth(serve.url, () => mixedLoad(serve.url, LOAD_SECONDS));
  rows.push([`mixed traffic, 8 clients, ${LOAD_SECONDS} s`, `${(load.result.requests / LOAD_SECONDS).toFixed(1)} req/s, p50 ${ms(load.result.latencies, 0.5)} ms, p99 ${ms(load.result.latencies, 0.99)} ms`, load.result.fivexx, `${at} → ${rssMb(serve.pid)} MB`, ms(load.health, 0.99)]);

  // the 300 distinct words are made before the clock runs: making them would busy this process
  const random = seededRandom(3);
  const letters = "abcdefghijklmnopqrstuvwxyz";
  const bodies = Array.from({ length: 300 }, () => {
    const word = Array.from({ length: 1_000_000 - 200 }, () => letters[Math.floor(random() * 26)]).join("");
    return JSON.stringify({ model: "pg-teacher", prompt: word, max_tokens: 1, proof: false });
  });
  at = rssMb(serve.pid);
  const words = await withHealth(serve.url, () => wordAttack(serve.url, bodies));
  const fivexx = Object.entries(words.result).filter(([status]) => !/^[1-4]/.test(status)).reduce((sum, [, n]) => sum + n, 0);
  const answers = Object.entries(words.result).map(([status, n]) => `${status}: ${n}`).join(", ");
  rows.push(["300 prompts of ~1 MB, each one distinct word", answers, fivexx, `${at} → ${rssMb(serve.pid)} MB`, ms(words.health, 0.99)]);

  at = rssMb(serve.pid);
  const streams = await withHealth(serve.url, () => silentStreams(serve.url));
  rows.push(["100 streams that never read (45 s)", `${streams.result} of 100 dropped by the server`, 0, `${at} → ${rssMb(serve.pid)} MB`, ms(streams.health, 0.99)]);

  at = rssMb(serve.pid);
  const big = await withHealth(serve.url, () => oversized(serve.url));
  rows.push(["20 answers of 4096 tokens × n 16 × 20 logprobs", `${big.result} of 20 refused with 400`, 0, `${at} → ${rssMb(serve.pid)} MB`, ms(big.health, 0.99)]);
} finally {
  await serve.stop();
}
await writeSection(
  "load",
  `## Load and abuse

${machineLine()}. \`node --import tsx bench/load.ts ${LOAD_SECONDS}\`: \`proofgate serve\` in its own process (SQLite, in-process queue, one prover, no chain), loopback only; RSS of that process from /proc; /health polled every 50 ms beside each case, from a process of its own.

${markdownTable(["case", "result", "5xx", "gateway RSS", "/health p99 (ms)"], rows)}
`,
);
