/**
 * The re-enqueue sweep: the store is the source of truth and the queue can be rebuilt from it. At
 * start and then periodically, records still `queued` and records `proving` whose worker stopped
 * writing for a lease go back on the queue (idempotently: a job still pending is not added twice).
 * This is how work survives a flushed or restarted Redis, a restarted gateway with an in-process
 * queue, or a worker that died between the queue's retries. A `generating` record whose gateway stopped
 * refreshing it for a lease (killed mid-answer) is failed with the reason: its answer never finished,
 * and its id must not dangle. Leases, not ownership, decide, so gateways sharing a database are safe.
 */
import type { Logger } from "pino";
import type { ProofStore } from "../store/proof-store.js";
import type { ProofScheduler } from "./proof-scheduler.js";

/** What the sweep reports (to /metrics). */
export interface SweepObserver {
  /** Records handed back to the queue: still `queued` past the grace, or `proving` past the lease. */
  reenqueued(reason: "queued" | "orphaned", count: number): void;
}

export interface ProofSweepOptions {
  readonly store: ProofStore;
  readonly scheduler: ProofScheduler;
  readonly logger: Logger;
  /** A `proving` record not written for this long has lost its worker (as the processor's lease). */
  readonly leaseMs: number;
  /** A `generating` record not written for this long lost its gateway (as ProofScheduler's `generationLeaseMs`). @defaultValue leaseMs */
  readonly generationLeaseMs?: number;
  /** A `queued` record this old is enqueued again (a no-op while its job is pending). */
  readonly queuedGraceMs: number;
  /** @defaultValue 1000 */
  readonly batch?: number;
  readonly observer?: SweepObserver;
}

export interface SweepResult {
  readonly queued: number;
  readonly orphaned: number;
  /** `generating` records failed because their gateway stopped. */
  readonly abandoned: number;
}

export class ProofSweep {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<SweepResult> | null = null;

  constructor(private readonly options: ProofSweepOptions) {}

  /** One pass; concurrent calls share the pass in flight. */
  sweepOnce(): Promise<SweepResult> {
    this.running ??= this.sweep().finally(() => (this.running = null));
    return this.running;
  }

  /** Sweeps now, then every `intervalMs` until `stop`. Errors are logged, never thrown. */
  start(intervalMs: number): void {
    if (this.timer) return;
    const tick = () =>
      void this.sweepOnce().catch((err: unknown) => this.options.logger.warn({ err }, "proof sweep failed"));
    tick();
    this.timer = setInterval(tick, intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running?.catch(() => undefined);
  }

  private async sweep(): Promise<SweepResult> {
    const { store, scheduler, logger } = this.options;
    const limit = this.options.batch ?? 1000;
    const queued = await store.findByStatus({ statuses: ["queued"], olderThanMs: this.options.queuedGraceMs, limit });
    const orphaned = await store.findByStatus({ statuses: ["proving"], olderThanMs: this.options.leaseMs, limit });
    for (const record of [...queued, ...orphaned]) await scheduler.enqueue(record);
    this.options.observer?.reenqueued("queued", queued.length);
    this.options.observer?.reenqueued("orphaned", orphaned.length);
    if (orphaned.length > 0)
      logger.info({ orphaned: orphaned.map((r) => r.id) }, "re-enqueued proofs whose worker stopped");
    const leaseMs = this.options.generationLeaseMs ?? this.options.leaseMs;
    const stale = await store.findByStatus({ statuses: ["generating"], olderThanMs: leaseMs, limit });
    const error = `not proven: the gateway stopped while generating this answer (no sign of it for ${Math.round(leaseMs / 1000)} s); nothing was served in full to prove`;
    // a record refreshed or finished since it was read stays as it is: the compare-and-set misses
    const abandoned = (
      await Promise.all(stale.map((r) => store.transition(r.id, "generating", "failed", { error })))
    ).filter((r) => r !== null);
    if (abandoned.length > 0)
      logger.warn({ abandoned: abandoned.map((r) => r.id) }, "failed generations whose gateway stopped");
    return { queued: queued.length, orphaned: orphaned.length, abandoned: abandoned.length };
  }
}
