/**
 * The composition root: the only place that picks implementations. Embedded by default (SQLite under
 * the data folder, an in-process queue when no Redis answers); distributed with `DATABASE_URL`
 * (PostgreSQL) and a reachable `REDIS_URL` (BullMQ), shared by `proofgate serve` and any number of
 * `proofgate worker` processes. The chain likewise: an anvil spawned on loopback, or `RPC_URL`.
 */
import { join } from "node:path";
import type { Logger } from "pino";
import { openChain } from "./chain/chain-connection.js";
import { recheckVerified } from "./chain/chain-recheck.js";
import { loadContracts } from "./chain/contract-build.js";
import { deployContracts } from "./chain/deployment.js";
import { OracleWatcher } from "./chain/oracle-watcher.js";
import { ChainSubmitter } from "./chain/submitter.js";
import type { Config, SubmitPolicy } from "./config/config.js";
import { ProofgateError } from "./core/errors.js";
import { setSnarkThreads } from "./snark/snark-workers.js";
import { BullmqJobQueue } from "./jobs/job-queue-bullmq.js";
import { urlForLogs } from "./core/secret.js";
import { MemoryJobQueue } from "./jobs/job-queue-memory.js";
import type { JobQueue, JobWorker } from "./jobs/job-queue.js";
import { probeRedis } from "./jobs/redis-available.js";
import type { ChainServices, ProofServices } from "./api/gateway-services.js";
import { ProofMetrics } from "./api/metrics/proof-metrics.js";
import { CompiledCatalog } from "./prover/compiled-catalog.js";
import { ProofBacklog } from "./prover/proof-backlog.js";
import { ProofJobProcessor } from "./prover/proof-job.js";
import { ProofScheduler } from "./prover/proof-scheduler.js";
import { ProofSweep } from "./prover/proof-sweep.js";
import { SnarkThreads } from "./prover/snark-work.js";
import { PostgresProofStore } from "./store/proof-store-postgres.js";
import { SqliteProofStore } from "./store/proof-store-sqlite.js";
import type { ProofStore } from "./store/proof-store.js";

export const SQLITE_FILE = "proofgate.sqlite";

export async function openProofStore(config: Config): Promise<ProofStore> {
  if (config.databaseUrl)
    return PostgresProofStore.open({
      connectionString: config.databaseUrl,
      schema: config.databaseSchema ?? undefined,
    });
  return SqliteProofStore.open({ path: join(config.dataDir, SQLITE_FILE) });
}

export interface OpenJobQueueOptions {
  readonly config: Config;
  readonly logger: Logger;
  /** Fail instead of falling back to an in-process queue (a worker process has nothing to share one with). */
  readonly requireRedis?: boolean;
}

export async function openJobQueue({ config, logger, requireRedis = false }: OpenJobQueueOptions): Promise<JobQueue> {
  const queueOptions = { attempts: config.jobAttempts, backoffMs: config.jobBackoffMs };
  const probe = await probeRedis(config.redisUrl);
  if (probe.reachable)
    return BullmqJobQueue.open({ ...queueOptions, url: config.redisUrl, prefix: config.queuePrefix });
  const why = `Redis at ${urlForLogs(config.redisUrl)} is not reachable (${probe.reason})`;
  if (requireRedis) throw new ProofgateError("not_ready", `${why}; a worker needs the shared queue (set REDIS_URL)`);
  logger.warn(`${why}: proof jobs use an in-process queue`);
  return new MemoryJobQueue(queueOptions);
}

export interface OpenProofServicesOptions {
  readonly config: Config;
  readonly logger: Logger;
  /** @defaultValue `openProofStore(config)` */
  readonly store?: ProofStore;
  /** @defaultValue `openJobQueue(...)` */
  readonly queue?: JobQueue;
  /** In-process workers to start. @defaultValue config.provers */
  readonly provers?: number;
  readonly requireRedis?: boolean;
  /** Worker identity prefix. @defaultValue host:pid */
  readonly proverName?: string;
  /** Which new records go on-chain (the gateway's records; workers make none). @defaultValue "none" */
  readonly submitPolicy?: SubmitPolicy;
}

export async function openProofServices(options: OpenProofServicesOptions): Promise<ProofServices> {
  const { config, logger } = options;
  const store = options.store ?? (await openProofStore(config));
  let queue: JobQueue | undefined;
  let snark: SnarkThreads | undefined;
  try {
    queue = options.queue ?? (await openJobQueue({ config, logger, requireRedis: options.requireRedis }));
    queue.on("error", (err) => logger.warn({ err }, "job queue error"));
    const catalog = await CompiledCatalog.open({ roots: config.modelRoots, dirs: config.modelDirs });
    const provers = options.provers ?? config.provers;
    const backlog = new ProofBacklog({
      queue,
      maxJobs: config.maxProofBacklog,
      maxEtaS: config.maxProofEtaS,
      slots: provers * config.proverConcurrency,
    });
    const openQueue = queue;
    const metrics = new ProofMetrics({
      store,
      queue,
      backlog,
      warn: (err, jobId) => logger.warn({ err, jobId }, "could not read a completed job's record for /metrics"),
    });
    const scheduler = new ProofScheduler({
      store,
      queue,
      logger,
      submitPolicy: options.submitPolicy ?? "none",
      backlog,
      generationLeaseMs: config.proofLeaseMs,
      order: config.proofOrder,
    });
    const snarkThreads = config.proverThreads ?? provers * config.proverConcurrency;
    // the workers' proofs off this event loop, which serves the API, when asked (src/prover/snark-work.ts)
    snark = provers > 0 && config.snarkThreads ? new SnarkThreads(snarkThreads) : undefined;
    const processor = new ProofJobProcessor({
      store,
      catalog,
      logger,
      leaseMs: config.proofLeaseMs,
      prover: options.proverName,
      snark,
    });
    const sweep = new ProofSweep({
      store,
      scheduler,
      logger,
      leaseMs: config.proofLeaseMs,
      queuedGraceMs: config.proofLeaseMs,
      observer: metrics,
    });
    const workers: JobWorker[] = [];
    if (provers > 0) setSnarkThreads(snarkThreads);
    await snark?.ready();
    for (let k = 0; k < provers; k++) {
      workers.push(
        await queue.process(processor.handler, { concurrency: config.proverConcurrency, lockMs: config.proofLeaseMs }),
      );
    }
    sweep.start(config.sweepIntervalMs);
    let closing: Promise<void> | undefined;
    const close = (): Promise<void> =>
      (closing ??= (async () => {
        metrics.stop();
        await sweep.stop();
        await Promise.allSettled(workers.map((w) => w.close()));
        await snark?.close();
        await openQueue.close();
        await store.close();
      })());
    return { store, queue, catalog, scheduler, processor, sweep, workers, backlog, metrics, close };
  } catch (err) {
    await snark?.close();
    await queue?.close();
    await store.close();
    throw err;
  }
}

/**
 * The chain side of `serve`: connect (or spawn anvil, on its state in the data folder), deploy or find
 * the contracts, re-check the records `verified` on this chain against it (those it no longer holds go
 * back to `proved`), then submit proved records and answer oracle requests. Null when PROOFGATE_SUBMIT=none.
 */
export async function openChainServices({
  config,
  logger,
  proofs,
}: {
  config: Config;
  logger: Logger;
  proofs: ProofServices;
}): Promise<ChainServices | null> {
  const connection = await openChain(config, logger);
  if (!connection) return null;
  try {
    const artifact = await loadContracts();
    const deployment = await deployContracts(connection, artifact, proofs.catalog, {
      dataDir: config.dataDir,
      fee: { baseWei: config.oracleFeeWei, perGasWei: config.oracleFeePerGasWei },
      timeoutS: config.oracleTimeoutS,
      timelockDelayS: config.timelockDelayS,
      logger,
    });
    await recheckVerified({ store: proofs.store, chain: connection, deployment, logger });
    const common = { chain: connection, deployment, store: proofs.store, logger, pollMs: config.chainPollMs };
    const submitter = new ChainSubmitter({ ...common, leaseMs: config.proofLeaseMs, observer: proofs.metrics });
    const watcher = new OracleWatcher({
      ...common,
      catalog: proofs.catalog,
      scheduler: proofs.scheduler,
      feeMargin: config.oracleFeeMargin,
    });
    submitter.start();
    watcher.start();
    let closing: Promise<void> | undefined;
    const close = (): Promise<void> =>
      (closing ??= (async () => {
        await watcher.stop();
        await submitter.stop();
        await connection.close();
      })());
    return { connection, deployment, submitter, watcher, close };
  } catch (err) {
    await connection.close();
    throw err;
  }
}
