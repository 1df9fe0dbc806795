/**
 * bench/provers: proof throughput with 1 and 2 `proofgate worker` processes (and one process proving
 * two jobs at once, for comparison), and the time from a 16-token completion request to its record
 * being `proved`. The gateway runs in this process with no provers of its own, on the same PostgreSQL
 * schema and Redis queue as the workers, exactly as a distributed deployment would.
 * Run: node --import tsx bench/provers.ts   (needs the local Redis and PostgreSQL)
 */
import os from "node:os";
import { pino } from "pino";
import { median } from "../src/core/numbers.js";
import { startGateway, type Gateway } from "../src/api/start-gateway.js";
import type { ProofServices } from "../src/api/gateway-services.js";
import { openProofServices } from "../src/compose.js";
import { loadConfig } from "../src/config/config.js";
import type { WireProof } from "../src/core/proof-record.js";
import { Cluster, postgresUnreachable, redisUnreachable } from "../test/workers/prover-cluster.fixture.js";
import { machineLine, markdownTable, writeSection } from "./report.js";

/** Completions per throughput run, and tokens (= step proofs) each. */
const REQUESTS = 8;
const TOKENS = 6;
const LATENCY_RUNS = 3;
const PROMPTS = [
  "The sea",
  "The President",
  "Call me Ishmael",
  "Whales and ships",
  "Congress shall",
  "In the morning",
  "The captain said",
  "Our nation",
];

async function post(gateway: Gateway, body: unknown): Promise<string> {
  const res = await fetch(`${gateway.url}/v1/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  if (res.status !== 200) throw new Error(`completion failed: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { proof: { id: string } }).proof.id;
}

async function waitProved(gateway: Gateway, id: string): Promise<WireProof> {
  for (;;) {
    const record = (await (await fetch(`${gateway.url}/v1/proofs/${id}?wait=60`)).json()) as WireProof;
    if (record.status === "proved") return record;
    if (record.status === "failed") throw new Error(`proof ${id} failed: ${record.error}`);
  }
}

interface Setup {
  readonly label: string;
  readonly workers: number;
  readonly concurrency: number;
}

interface Measured extends Setup {
  readonly proofs: number;
  readonly seconds: number;
  readonly perMinute: number;
  readonly latencyMs: number;
}

async function measure(setup: Setup): Promise<Measured> {
  const cluster = await Cluster.open("postgres");
  let proofs: ProofServices | undefined;
  let gateway: Gateway | undefined;
  try {
    await cluster.startWorkers(
      Array.from({ length: setup.workers }, (_, k) => ({ name: `bench-w${k + 1}`, concurrency: setup.concurrency })),
    );
    const config = {
      ...loadConfig({ ...cluster.env, PROVERS: "0", PROOFGATE_LOG_LEVEL: "silent" }),
      device: "cpu" as const,
      port: 0,
    };
    const logger = pino({ level: "silent" });
    proofs = await openProofServices({ config, logger, provers: 0 });
    gateway = await startGateway({ config, logger, proofs });
    await gateway.loaded;
    const gw = gateway;
    // warm-up: each worker loads the circuit and builds its curve once
    await Promise.all(
      Array.from({ length: setup.workers * setup.concurrency }, (_, k) =>
        post(gw, { model: "pg-student", prompt: PROMPTS[k % PROMPTS.length], max_tokens: 1 }).then((id) =>
          waitProved(gw, id),
        ),
      ),
    );

    const started = performance.now();
    const ids = await Promise.all(
      PROMPTS.slice(0, REQUESTS).map((prompt) => post(gw, { model: "pg-student", prompt, max_tokens: TOKENS })),
    );
    const records = await Promise.all(ids.map((id) => waitProved(gw, id)));
    const seconds = (performance.now() - started) / 1000;
    const steps = records.reduce((sum, r) => sum + r.steps.length, 0);

    const latencies: number[] = [];
    for (let k = 0; k < LATENCY_RUNS; k++) {
      const t0 = performance.now();
      const id = await post(gw, { model: "pg-student", prompt: PROMPTS[k], max_tokens: 16 });
      const record = await waitProved(gw, id);
      if (record.steps.length !== 16) throw new Error(`expected 16 steps, got ${record.steps.length}`);
      latencies.push(performance.now() - t0);
    }
    return { ...setup, proofs: steps, seconds, perMinute: (steps / seconds) * 60, latencyMs: median(latencies)! };
  } finally {
    await gateway?.close();
    await proofs?.close();
    await cluster.close();
  }
}

const why = (await redisUnreachable()) ?? (await postgresUnreachable());
if (why) throw new Error(`bench/provers needs Redis and PostgreSQL: ${why}`);

const setups: Setup[] = [
  { label: "1 worker × 1 job", workers: 1, concurrency: 1 },
  { label: "2 workers × 1 job", workers: 2, concurrency: 1 },
  { label: "1 worker × 2 jobs", workers: 1, concurrency: 2 },
];
const results: Measured[] = [];
for (const setup of setups) {
  const result = await measure(setup);
  console.error(
    `${setup.label}: ${result.proofs} step proofs in ${result.seconds.toFixed(1)} s, 16-token request → proved ${Math.round(result.latencyMs)} ms`,
  );
  results.push(result);
}
const one = results[0]!.perMinute;
const two = results[1]!.perMinute;
await writeSection(
  "provers",
  [
    "## Provers (bench/provers)",
    "",
    machineLine(),
    "",
    `pg-student decoding-step proofs (14,803 constraints), PostgreSQL store, BullMQ on the local Redis, \`proofgate worker\` processes; throughput over ${REQUESTS} completions of ${TOKENS} tokens sent at once; latency = median of ${LATENCY_RUNS} sequential 16-token completions from POST to \`proved\` (a flow of 16 step proofs and the trace check).`,
    "",
    markdownTable(
      ["setup", "step proofs", "seconds", "proofs / minute", "16-token request → proved (ms)"],
      results.map((r) => [r.label, r.proofs, r.seconds.toFixed(1), r.perMinute.toFixed(0), Math.round(r.latencyMs)]),
    ),
    "",
    `2 workers vs 1: **${(two / one).toFixed(2)}×** (target ≥ 1.8×). Each worker runs as many snarkjs threads as jobs at once; the gateway, PostgreSQL and Redis share the same ${os.cpus().length} cores, so with one worker their work runs beside it on an idle core, and with two it takes from the provers.`,
  ].join("\n"),
);
