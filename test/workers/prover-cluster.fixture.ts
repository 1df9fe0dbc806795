/**
 * Helpers for the multi-process prover tests: real `proofgate worker` and `proofgate serve` processes
 * (spawned as `node --import tsx src/main.ts …`), the stores and queue they share, and pg-spam proof
 * work to put on it. Every run uses its own Redis key prefix, PostgreSQL schema and temporary folder.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { after, before } from "node:test";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import pg from "pg";
import { pino, type Logger } from "pino";
import { releaseSnarkWorkers } from "../../src/snark/snark-workers.js";
import { SQLITE_FILE } from "../../src/compose.js";
import type { ProofRecord, ProofStatus } from "../../src/core/proof-record.js";
import { BullmqJobQueue } from "../../src/jobs/job-queue-bullmq.js";
import { probeRedis } from "../../src/jobs/redis-available.js";
import { argmaxFirst, traceIntegerModel } from "../../src/model/integer-model.js";
import { SPAM_FEATURIZER, spamFeatures, type SpamFeaturizerJSON } from "../../src/model/spam-features.js";
import { loadCompiledModel, type CompiledModel } from "../../src/prover/compiled-model.js";
import { ProofScheduler, type ScheduleInferenceOptions } from "../../src/prover/proof-scheduler.js";
import { HASHED_NONCE_BITS, textContentHash } from "../../src/core/request-binding.js";
import { PostgresProofStore } from "../../src/store/proof-store-postgres.js";
import { SqliteProofStore } from "../../src/store/proof-store-sqlite.js";
import type { ProofStore } from "../../src/store/proof-store.js";
import { PATIENCE_MS, until } from "../fixtures/until.js";

export const REPO_ROOT = resolve(import.meta.dirname, "../..");
export const MAIN = join(REPO_ROOT, "src/main.ts");
export const SPAM_DIR = join(REPO_ROOT, "artifacts/models/pg-spam");
export const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
export const DATABASE_URL = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
/** The queue name compose uses (BULLMQ_DEFAULTS.name). */
export const QUEUE_NAME = "proofs";

export const silentLogger: Logger = pino({ level: "silent" });

/** Why the tests must skip (undefined: Redis answers); under CI=true a missing Redis fails instead. */
export async function redisUnreachable(): Promise<string | undefined> {
  const probe = await probeRedis(REDIS_URL, 2000);
  if (probe.reachable) return undefined;
  if (process.env.CI === "true") throw new Error(`Redis at ${REDIS_URL} is required under CI=true: ${probe.reason}`);
  return `no Redis at ${REDIS_URL} (${probe.reason})`;
}

export async function withPgClient<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: DATABASE_URL, connectionTimeoutMillis: 3000 });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Why the PostgreSQL tests must skip (undefined: the server answers); under CI=true a missing server fails. */
export async function postgresUnreachable(): Promise<string | undefined> {
  try {
    await withPgClient((client) => client.query("SELECT 1"));
    return undefined;
  } catch (err) {
    if (process.env.CI === "true")
      throw new Error(`PostgreSQL at ${DATABASE_URL} is required under CI=true`, { cause: err });
    return `no PostgreSQL at ${DATABASE_URL} (${(err as Error).message})`;
  }
}

export function runId(): string {
  return `${process.pid}_${randomBytes(3).toString("hex")}`;
}

export const dropSchema = (schema: string): Promise<unknown> =>
  withPgClient((client) => client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`));

/** Deletes every key of the queue under `prefix` (its jobs, events, metadata). */
export async function obliterateQueue(prefix: string): Promise<void> {
  const queue = await BullmqJobQueue.open({ url: REDIS_URL, prefix, name: QUEUE_NAME });
  try {
    await queue.obliterate();
  } finally {
    await queue.close();
  }
}

/** pg-spam proof work: distinct texts, their samples and the integer model's answer, as the gateway serves them. */
export class SpamWork {
  private constructor(
    readonly compiled: CompiledModel,
    private readonly featurizer: SpamFeaturizerJSON,
  ) {}

  static async load(): Promise<SpamWork> {
    const compiled = await loadCompiledModel(SPAM_DIR);
    const featurizer = {
      ...SPAM_FEATURIZER,
      ...(JSON.parse(readFileSync(join(SPAM_DIR, "featurizer.json"), "utf8")) as Partial<SpamFeaturizerJSON>),
    };
    return new SpamWork(compiled, featurizer);
  }

  get vkey(): Record<string, unknown> {
    return this.compiled.vkey;
  }

  /** What `ProofScheduler.scheduleInference` takes for the `index`th text of a run. */
  inference(tag: string, index: number): ScheduleInferenceOptions {
    const text = `message ${index} of run ${tag}: win a free cruise number ${index * 7919} today`;
    const sample = Array.from(spamFeatures(text, this.featurizer));
    const trace = traceIntegerModel(this.compiled.model, sample);
    const logits = Array.from(trace[trace.length - 1]);
    const argmax = argmaxFirst(logits);
    return {
      id: `proof-${tag}-${String(index).padStart(3, "0")}`,
      model: "pg-spam",
      circuit: { modelId: this.compiled.manifest.model_id, vkeyHash: this.compiled.manifest.vkey_hash },
      endpoint: "/v1/inferences",
      input: text,
      sample,
      served: { argmax, logits },
      output: { label_id: argmax, logits },
      contentHash: textContentHash(text),
      nonceBits: HASHED_NONCE_BITS,
    };
  }
}

export interface WorkerExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** A spawned `proofgate worker` or `proofgate serve` process, its pino log lines and its exit. */
export class CliProcess {
  readonly logs: Record<string, unknown>[] = [];
  stderr = "";
  readonly exited: Promise<WorkerExit>;
  exit: WorkerExit | null = null;
  private readonly lineWaiters: { test: (line: Record<string, unknown>) => boolean; resolve: () => void }[] = [];

  constructor(
    readonly name: string,
    readonly child: ChildProcess,
  ) {
    let buffered = "";
    child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
      buffered += chunk;
      for (let newline = buffered.indexOf("\n"); newline >= 0; newline = buffered.indexOf("\n")) {
        const text = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        let line: Record<string, unknown>;
        try {
          line = JSON.parse(text) as Record<string, unknown>;
        } catch {
          line = { msg: text };
        }
        this.logs.push(line);
        for (const waiter of [...this.lineWaiters]) {
          if (waiter.test(line)) {
            this.lineWaiters.splice(this.lineWaiters.indexOf(waiter), 1);
            waiter.resolve();
          }
        }
      }
    });
    child.stderr!.setEncoding("utf8").on("data", (chunk: string) => {
      this.stderr += chunk;
    });
    this.exited = new Promise((resolve) => {
      child.once("exit", (code, signal) => {
        this.exit = { code, signal };
        resolve(this.exit);
      });
    });
  }

  get alive(): boolean {
    return this.exit === null;
  }

  /** Resolves on the first log line (seen already or to come) with this `msg`; rejects if the process exits first or after `timeoutMs`. */
  async logged(msg: string, timeoutMs = PATIENCE_MS): Promise<void> {
    const test = (line: Record<string, unknown>) => line.msg === msg;
    if (this.logs.some(test)) return;
    let timer: NodeJS.Timeout | undefined;
    let waiter: (typeof this.lineWaiters)[number] | undefined;
    try {
      await Promise.race([
        new Promise<void>((resolve) => {
          waiter = { test, resolve };
          this.lineWaiters.push(waiter);
        }),
        this.exited.then((exit) => {
          throw new Error(
            `${this.name} exited (${exit.code ?? exit.signal}) before logging "${msg}"; stderr: ${this.stderr.slice(-2000)}`,
          );
        }),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () =>
              reject(
                new Error(
                  `${this.name} did not log "${msg}" within ${timeoutMs} ms; stderr: ${this.stderr.slice(-2000)}`,
                ),
              ),
            timeoutMs,
          );
        }),
      ]);
    } finally {
      clearTimeout(timer);
      if (waiter && this.lineWaiters.includes(waiter)) this.lineWaiters.splice(this.lineWaiters.indexOf(waiter), 1);
    }
  }

  /** Sends `signal` and waits up to `timeoutMs` for the exit; null when it still runs. */
  async signal(signal: NodeJS.Signals, timeoutMs = PATIENCE_MS): Promise<WorkerExit | null> {
    if (!this.alive) return this.exit!;
    this.child.kill(signal);
    let timer: NodeJS.Timeout | undefined;
    const exit = await Promise.race([
      this.exited,
      new Promise<null>((resolve) => {
        timer = setTimeout(() => resolve(null), timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    return exit;
  }

  /** Sends `signal` and waits for the exit; after `timeoutMs` kills it with SIGKILL and throws. */
  async stop(signal: NodeJS.Signals = "SIGTERM", timeoutMs = PATIENCE_MS): Promise<WorkerExit> {
    const exit = await this.signal(signal, timeoutMs);
    if (exit) return exit;
    const last = this.logs.slice(-3).map((l) => l.msg);
    await this.kill();
    throw new Error(
      `${this.name} did not exit within ${timeoutMs} ms of ${signal} (last log lines: ${JSON.stringify(last)}; stderr: ${this.stderr.slice(-1000)})`,
    );
  }

  /** For `after` hooks: kills it if it still runs. */
  async kill(): Promise<void> {
    if (!this.alive) return;
    this.child.kill("SIGKILL");
    await this.exited;
  }
}

/** Environment of a child process: this one's, minus any store/queue/chain settings, plus `env`. */
export function childEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const base: NodeJS.ProcessEnv = { ...process.env };
  for (const key of Object.keys(base)) {
    if (
      key.startsWith("PROOFGATE_") ||
      ["DATABASE_URL", "PROVERS", "PROVER_CONCURRENCY", "PORT", "RPC_URL", "PRIVATE_KEY"].includes(key)
    )
      delete base[key];
  }
  // the test runner's own markers would make a child that imports node:test behave as a test file
  delete base.NODE_TEST_CONTEXT;
  // these tests are about proving: nothing on-chain unless a test asks for it
  return { ...base, PROOFGATE_LOG_LEVEL: "info", PROOFGATE_DEVICE: "cpu", PROOFGATE_SUBMIT: "none", ...env };
}

/** Spawns `proofgate worker --name NAME` and waits for "prover worker ready". */
export async function startWorker(name: string, env: Record<string, string>, concurrency = 1): Promise<CliProcess> {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", MAIN, "worker", "--name", name, "--concurrency", String(concurrency)],
    {
      cwd: REPO_ROOT,
      env: childEnv(env),
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  const worker = new CliProcess(name, child);
  try {
    await worker.logged("prover worker ready");
  } catch (err) {
    await worker.kill();
    throw err;
  }
  return worker;
}

/** Spawns `proofgate serve` on `port` and waits until GET /health answers 200. */
export async function startServe(name: string, port: number, env: Record<string, string>): Promise<CliProcess> {
  const child = spawn(process.execPath, ["--import", "tsx", MAIN, "serve"], {
    cwd: REPO_ROOT,
    env: childEnv({ ...env, PORT: String(port), HOST: "127.0.0.1" }),
    stdio: ["ignore", "pipe", "pipe"],
  });
  const serve = new CliProcess(name, child);
  try {
    const health = async () => {
      if (!serve.alive)
        throw new Error(
          `${name} exited (${serve.exit!.code ?? serve.exit!.signal}) before it was healthy; stderr: ${serve.stderr.slice(-2000)}`,
        );
      return fetch(`http://127.0.0.1:${port}/health`).then(
        (r) => r.status,
        () => 0,
      );
    };
    await until(health, (status) => status === 200, { what: `${name} to be healthy (GET /health 200)`, everyMs: 200 });
    return serve;
  } catch (err) {
    await serve.kill();
    throw err;
  }
}

/** A TCP port nothing listens on right now. */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export async function readAll(store: ProofStore, ids: readonly string[]): Promise<ProofRecord[]> {
  const records = await Promise.all(ids.map((id) => store.get(id)));
  return records.map((r, i) => {
    if (!r) throw new Error(`record ${ids[i]} is missing`);
    return r;
  });
}

/** `{ queued: 3, proving: 2, proved: 45 }` */
export function countByStatus(records: readonly ProofRecord[]): Partial<Record<ProofStatus, number>> {
  const counts: Partial<Record<ProofStatus, number>> = {};
  for (const r of records) counts[r.status] = (counts[r.status] ?? 0) + 1;
  return counts;
}

/** Polls the records until `done` holds for them; a failure names how many were in each status. */
export function untilRecords(
  store: ProofStore,
  ids: readonly string[],
  done: (records: ProofRecord[]) => boolean,
  what: string,
  everyMs = 50,
): Promise<ProofRecord[]> {
  return until(() => readAll(store, ids), done, {
    what,
    everyMs,
    describe: (records) => JSON.stringify(countByStatus(records)),
  });
}

/** Waits until every record is final for a prover (proved or failed) and returns them. */
export function waitAllFinal(store: ProofStore, ids: readonly string[]): Promise<ProofRecord[]> {
  return untilRecords(
    store,
    ids,
    (records) => records.every((r) => r.status === "proved" || r.status === "failed"),
    "every record final",
    250,
  );
}

export type ClusterStore = "postgres" | "sqlite";

/**
 * What the workers of one test share: a store (its own PostgreSQL schema, or a SQLite file in its own
 * folder), a queue under its own Redis key prefix, and the scheduler that fills them as the gateway does.
 */
export class Cluster {
  readonly workers: CliProcess[] = [];
  private constructor(
    readonly kind: ClusterStore,
    readonly env: Record<string, string>,
    readonly store: ProofStore,
    readonly queue: BullmqJobQueue,
    readonly scheduler: ProofScheduler,
    readonly tag: string,
    private readonly cleanup: () => Promise<void>,
  ) {}

  static async open(kind: ClusterStore, settings: Record<string, string> = {}): Promise<Cluster> {
    const tag = runId();
    const prefix = `proofgate-test-workers-${tag}`;
    const env: Record<string, string> = {
      REDIS_URL,
      PROOFGATE_QUEUE_PREFIX: prefix,
      // short enough that a killed worker's records are taken over within the test, long enough that a
      // live worker on a loaded machine (its heartbeat and queue lock late) is never taken for dead
      PROOFGATE_PROOF_LEASE_MS: "10000",
      PROOFGATE_SWEEP_INTERVAL_MS: "500",
      ...settings,
    };
    let store: ProofStore;
    let dispose: () => Promise<void>;
    if (kind === "postgres") {
      const schema = `proofgate_test_workers_${tag}`;
      Object.assign(env, { DATABASE_URL, PROOFGATE_DB_SCHEMA: schema });
      store = await PostgresProofStore.open({ connectionString: DATABASE_URL, schema });
      dispose = async () => void (await dropSchema(schema));
    } else {
      const dataDir = mkdtempSync(join(tmpdir(), "proofgate-workers-"));
      env.PROOFGATE_DATA_DIR = dataDir;
      store = SqliteProofStore.open({ path: join(dataDir, SQLITE_FILE) });
      dispose = async () => rmSync(dataDir, { recursive: true, force: true });
    }
    const queue = await BullmqJobQueue.open({ url: REDIS_URL, prefix, name: QUEUE_NAME });
    const scheduler = new ProofScheduler({ store, queue, logger: silentLogger });
    return new Cluster(kind, env, store, queue, scheduler, tag, async () => {
      await queue.close();
      await obliterateQueue(prefix);
      await store.close();
      await dispose();
    });
  }

  /** Starts these workers at once (`proofgate worker --name NAME --concurrency N`), ready when this resolves. */
  async startWorkers(specs: readonly { name: string; concurrency?: number }[]): Promise<CliProcess[]> {
    const started = await Promise.allSettled(specs.map((s) => startWorker(s.name, this.env, s.concurrency ?? 1)));
    const workers = started.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
    this.workers.push(...workers);
    const failed = started.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed) throw failed.reason;
    return workers;
  }

  /** Records and enqueues `count` distinct pg-spam inferences; returns their proof ids. */
  async schedule(work: SpamWork, count: number): Promise<string[]> {
    const ids: string[] = [];
    for (let i = 0; i < count; i++) ids.push((await this.scheduler.scheduleInference(work.inference(this.tag, i))).id);
    return ids;
  }

  /** Kills the workers still running, closes everything, and deletes the queue's keys, the schema or folder. */
  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.kill()));
    await this.cleanup();
  }
}

/** A test file's clusters of one store kind: the pg-spam work is loaded before its tests, and every cluster opened is closed after them. */
export interface ClusterSuite {
  readonly work: SpamWork;
  open(): Promise<Cluster>;
}

/** Registers the file's `before`/`after` hooks (nothing is loaded when the file is skipped). */
export function clusterSuite(kind: ClusterStore, skip: string | undefined): ClusterSuite {
  const clusters: Cluster[] = [];
  let work: SpamWork | undefined;
  before(async () => {
    if (!skip) work = await SpamWork.load();
  });
  after(async () => {
    await Promise.allSettled(clusters.map((c) => c.close()));
    await releaseSnarkWorkers();
  });
  return {
    get work() {
      if (!work) throw new Error("the pg-spam work is loaded before the tests");
      return work;
    },
    async open() {
      const cluster = await Cluster.open(kind);
      clusters.push(cluster);
      return cluster;
    },
  };
}
