/**
 * Proof, queue and chain metrics, in a registry of their own that /metrics appends to the gateway's.
 * Labels are the names the records use (status, model, prover, the chain receipt's contract).
 *
 * Gauges are read at scrape time: records by status and model and the oldest `queued` one from the
 * store (one GROUP BY), jobs by state from the queue; one look each per second at most.
 *
 * Proving seconds and steps proved are observed from the queue's `completed` events, which BullMQ
 * delivers from every process sharing the queue: proofs made by `proofgate worker` processes count
 * too, read back from the record (its `prover` and `timings`). Each gateway process sharing one queue
 * counts every proof, so sum one gateway's series, not all of them.
 */
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import type { ProofRecord } from "../../core/proof-record.js";
import type { SubmissionObserver } from "../../chain/submitter.js";
import type { JobCounts, JobQueue } from "../../jobs/job-queue.js";
import type { ProofBacklog } from "../../prover/proof-backlog.js";
import type { SweepObserver } from "../../prover/proof-sweep.js";
import type { ProofStatusCount, ProofStore } from "../../store/proof-store.js";

export interface ProofMetricsOptions {
  readonly store: ProofStore;
  readonly queue: JobQueue;
  /** Told each observed proof's seconds, for its ETA. */
  readonly backlog?: ProofBacklog;
  /** @defaultValue 1000 */
  readonly cacheMs?: number;
  readonly now?: () => number;
  /** Where a failed read of a completed job's record goes. */
  readonly warn?: (err: unknown, jobId: string) => void;
}

/** Completed job ids remembered so that one proof is observed once. */
const SEEN_JOBS = 10_000;
const JOB_STATES = ["waiting", "active", "delayed", "waitingChildren"] as const satisfies readonly (keyof JobCounts)[];
const PROVED = new Set(["proved", "submitted", "verified"]);

export class ProofMetrics implements SubmissionObserver, SweepObserver {
  readonly registry = new Registry();
  private readonly now: () => number;
  private readonly seen = new Set<string>();
  private storeRead: { at: number; counts: Promise<ProofStatusCount[]> } | null = null;
  private queueRead: { at: number; counts: Promise<JobCounts> } | null = null;
  private observing = false;
  private readonly onCompleted = ({ jobId }: { jobId: string }): void => void this.completed(jobId);

  private readonly provingSeconds = new Histogram({
    name: "proofgate_proving_seconds",
    help: "Witness + prove seconds of one proof job (kind: inference, or one decoding step), by model and prover",
    labelNames: ["model", "prover", "kind"] as const,
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
    registers: [this.registry],
  });
  private readonly stepsProved = new Counter({
    name: "proofgate_proof_steps_proved_total",
    help: "Decoding steps proved",
    labelNames: ["model"] as const,
    registers: [this.registry],
  });
  private readonly submissions = new Counter({
    name: "proofgate_chain_submissions_total",
    help: "Records that went on-chain, by contract",
    labelNames: ["contract"] as const,
    registers: [this.registry],
  });
  private readonly gas = new Counter({
    name: "proofgate_chain_gas_used_total",
    help: "Gas of the transactions that recorded them, by contract",
    labelNames: ["contract"] as const,
    registers: [this.registry],
  });
  private readonly chainErrors = new Counter({
    name: "proofgate_chain_errors_total",
    help: "Failed submission attempts: rpc (retried) or revert",
    labelNames: ["kind"] as const,
    registers: [this.registry],
  });
  private readonly sweeps = new Counter({
    name: "proofgate_sweep_reenqueued_total",
    help: "Records the sweep put back on the queue: queued (past the grace) or orphaned (proving past the lease)",
    labelNames: ["reason"] as const,
    registers: [this.registry],
  });

  constructor(private readonly options: ProofMetricsOptions) {
    this.now = options.now ?? Date.now;
    const metrics = this;
    new Gauge({
      name: "proofgate_proofs",
      help: "Proof records by status and model",
      labelNames: ["status", "model"] as const,
      registers: [this.registry],
      async collect() {
        const counts = await metrics.statusCounts();
        this.reset();
        if (!counts) return;
        for (const c of counts) this.set({ status: c.status, model: c.model }, c.count);
      },
    });
    new Gauge({
      name: "proofgate_proof_oldest_queued_age_seconds",
      help: "Age of the oldest record still queued (0 when none is)",
      registers: [this.registry],
      async collect() {
        const counts = await metrics.statusCounts();
        if (!counts) return;
        const queued = counts.filter((c) => c.status === "queued");
        const oldest = Math.min(...queued.map((c) => c.oldestCreated));
        this.set(queued.length === 0 ? 0 : Math.max(0, metrics.now() / 1000 - oldest));
      },
    });
    new Gauge({
      name: "proofgate_proof_queue_jobs",
      help: "Proof jobs on the queue by state, across every process sharing it",
      labelNames: ["state"] as const,
      registers: [this.registry],
      async collect() {
        const counts = await metrics.jobCounts();
        if (!counts) return;
        for (const state of JOB_STATES) this.set({ state }, counts[state]);
      },
    });
    const backlog = options.backlog;
    if (backlog) {
      new Gauge({
        name: "proofgate_proof_backlog_eta_seconds",
        help: "Estimated seconds until a proof enqueued now is proved (absent before any proof was observed)",
        registers: [this.registry],
        async collect() {
          const estimate = await backlog.estimate().catch(() => null);
          this.reset();
          if (estimate?.etaS != null) this.set(estimate.etaS);
        },
      });
    }
  }

  /** Starts observing completed jobs (the gateway's process; a worker process serves no /metrics). */
  observeQueue(): void {
    if (this.observing) return;
    this.observing = true;
    this.options.queue.on("completed", this.onCompleted);
  }

  stop(): void {
    if (!this.observing) return;
    this.observing = false;
    this.options.queue.off("completed", this.onCompleted);
  }

  submitted(contract: string, gasUsed: bigint | null): void {
    this.submissions.inc({ contract });
    if (gasUsed !== null) this.gas.inc({ contract }, Number(gasUsed));
  }

  chainError(kind: "rpc" | "revert"): void {
    this.chainErrors.inc({ kind });
  }

  reenqueued(reason: "queued" | "orphaned", count: number): void {
    if (count > 0) this.sweeps.inc({ reason }, count);
  }

  /** Reads the completed job's record and observes its proof (a single one or one step). Public for tests. */
  async completed(jobId: string): Promise<void> {
    if (this.seen.has(jobId)) return;
    this.remember(jobId);
    const hash = jobId.lastIndexOf("#");
    const proofId = hash < 0 ? jobId : jobId.slice(0, hash);
    const step = hash < 0 ? null : Number(jobId.slice(hash + 1));
    let record: ProofRecord | null;
    try {
      record = await this.options.store.get(proofId);
    } catch (err) {
      this.options.warn?.(err, jobId);
      return;
    }
    if (!record) return;
    if (step !== null) {
      const proved = record.steps.find((s) => s.index === step);
      if (proved?.status !== "proved") return;
      this.observe(record.model, proved.prover, "step", proved.timings);
      this.stepsProved.inc({ model: record.model });
    } else if (record.steps.length === 0 && PROVED.has(record.status)) {
      // a flow's parent (a record with steps) only finalizes: its steps were observed one by one
      this.observe(record.model, record.prover, "inference", record.timings);
    }
  }

  private observe(
    model: string,
    prover: string | null,
    kind: "inference" | "step",
    timings: Record<string, number>,
  ): void {
    if (timings.prove === undefined) return;
    const seconds = ((timings.witness ?? 0) + timings.prove) / 1000;
    this.provingSeconds.observe({ model, prover: prover ?? "unknown", kind }, seconds);
    this.options.backlog?.observeProof(seconds);
  }

  private remember(jobId: string): void {
    this.seen.add(jobId);
    if (this.seen.size > SEEN_JOBS) this.seen.delete(this.seen.values().next().value!);
  }

  /** Null when the store cannot answer now: the scrape goes on without these series. */
  private statusCounts(): Promise<ProofStatusCount[] | null> {
    const t = this.now();
    if (!this.storeRead || t - this.storeRead.at >= (this.options.cacheMs ?? 1000)) {
      this.storeRead = { at: t, counts: this.options.store.countByStatus() };
      this.storeRead.counts.catch(() => (this.storeRead = null));
    }
    return this.storeRead.counts.catch(() => null);
  }

  private jobCounts(): Promise<JobCounts | null> {
    const t = this.now();
    if (!this.queueRead || t - this.queueRead.at >= (this.options.cacheMs ?? 1000)) {
      this.queueRead = { at: t, counts: this.options.queue.counts() };
      this.queueRead.counts.catch(() => (this.queueRead = null));
    }
    return this.queueRead.counts.catch(() => null);
  }
}
