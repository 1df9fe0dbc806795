/**
 * What the composition root (src/compose.ts) opens and hands the gateway: the proof side and the chain
 * side. Declared here, not in compose.ts, so that api/ depends only on stages below it.
 */
import type { ChainConnection } from "../chain/chain-connection.js";
import type { Deployment } from "../chain/deployment.js";
import type { OracleWatcher } from "../chain/oracle-watcher.js";
import type { ChainSubmitter } from "../chain/submitter.js";
import type { JobQueue, JobWorker } from "../jobs/job-queue.js";
import type { CompiledCatalog } from "../prover/compiled-catalog.js";
import type { ProofBacklog } from "../prover/proof-backlog.js";
import type { ProofJobProcessor } from "../prover/proof-job.js";
import type { ProofScheduler } from "../prover/proof-scheduler.js";
import type { ProofSweep } from "../prover/proof-sweep.js";
import type { ProofStore } from "../store/proof-store.js";
import type { ProofMetrics } from "./metrics/proof-metrics.js";

export interface ProofServices {
  readonly store: ProofStore;
  readonly queue: JobQueue;
  readonly catalog: CompiledCatalog;
  readonly scheduler: ProofScheduler;
  readonly processor: ProofJobProcessor;
  readonly sweep: ProofSweep;
  readonly workers: readonly JobWorker[];
  /** Pending proof jobs and their ETA: what refuses provable requests past PROOFGATE_MAX_PROOF_BACKLOG / _ETA_S. */
  readonly backlog: ProofBacklog;
  /** Proof, queue and chain metrics; the gateway starts them observing the queue and serves them on /metrics. */
  readonly metrics: ProofMetrics;
  /** Stops the sweep, lets the workers finish the proofs in flight, then closes the queue and the store. */
  close(): Promise<void>;
}

export interface ChainServices {
  readonly connection: ChainConnection;
  readonly deployment: Deployment;
  readonly submitter: ChainSubmitter;
  readonly watcher: OracleWatcher;
  /** Stops watching and submitting (the record in hand finishes), then the chain (an embedded anvil saves its state). */
  close(): Promise<void>;
}
