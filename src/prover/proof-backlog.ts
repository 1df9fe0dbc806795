/**
 * Backpressure on proving: how many proof jobs wait on the queue (from every process sharing it) and
 * an estimate of the seconds until a new request's proof is done. Past PROOFGATE_MAX_PROOF_BACKLOG
 * jobs or PROOFGATE_MAX_PROOF_ETA_S seconds, new provable requests are refused (429 `overloaded`,
 * `retry-after`); nothing already accepted is dropped, and `"proof": false` is still served.
 *
 * The ETA is what can be measured here: pending jobs × the mean proving seconds of the last proofs
 * observed (one job = one inference proof or one decoding step) ÷ the prover slots of this process.
 * Remote workers (`proofgate worker`) drain the queue too, so with them it is an upper bound; before
 * any proof has been observed there is no ETA (null), and only the depth limit applies.
 */
import { ProofgateError } from "../core/errors.js";
import type { JobQueue } from "../jobs/job-queue.js";

export interface ProofBacklogOptions {
  readonly queue: Pick<JobQueue, "counts">;
  /** Pending jobs past which provable requests are refused; 0 = no limit. */
  readonly maxJobs: number;
  /** Estimated seconds past which provable requests are refused; 0 = no limit. */
  readonly maxEtaS: number;
  /** Proofs this process runs at once (provers × concurrency); at least 1 is assumed. */
  readonly slots: number;
  /** How long one look at the queue is reused. @defaultValue 1000 */
  readonly cacheMs?: number;
  readonly now?: () => number;
}

export interface BacklogEstimate {
  /** Jobs waiting, running or waiting out a retry (flow parents, which only finalize, are not counted). */
  readonly pending: number;
  /** Estimated seconds until everything pending is proved; null before any proof was observed. */
  readonly etaS: number | null;
}

/** How many recent proofs the mean proving time is taken over. */
const RECENT_PROOFS = 100;
/** Retry-after when a refusal has no ETA to go by (the depth limit with nothing measured yet). */
const UNKNOWN_RETRY_AFTER_S = 30;

export class ProofBacklog {
  private readonly recent: number[] = [];
  private next = 0;
  private cached: { at: number; estimate: Promise<BacklogEstimate> } | null = null;
  private last: BacklogEstimate | null = null;
  private readonly now: () => number;

  constructor(private readonly options: ProofBacklogOptions) {
    this.now = options.now ?? Date.now;
  }

  /** A proof job finished in `seconds` of proving (witness + prove): feeds the mean. */
  observeProof(seconds: number): void {
    if (!Number.isFinite(seconds) || seconds < 0) return;
    if (this.recent.length < RECENT_PROOFS) this.recent.push(seconds);
    else this.recent[this.next] = seconds;
    this.next = (this.next + 1) % RECENT_PROOFS;
  }

  /** Mean proving seconds per job over the recent proofs; null when none was observed. */
  get meanProofSeconds(): number | null {
    return this.recent.length === 0 ? null : this.recent.reduce((a, b) => a + b, 0) / this.recent.length;
  }

  /** The last estimate computed (what a record made now carries), without asking the queue. */
  get latest(): BacklogEstimate | null {
    return this.last;
  }

  /** Pending jobs and the ETA; one look at the queue per `cacheMs`, shared by concurrent callers. */
  estimate(): Promise<BacklogEstimate> {
    const t = this.now();
    if (!this.cached || t - this.cached.at >= (this.options.cacheMs ?? 1000)) {
      const estimate = this.look();
      this.cached = { at: t, estimate };
      estimate.catch(() => (this.cached = null));
    }
    return this.cached.estimate;
  }

  /** Throws 429 `overloaded` (its `retryAfterS` set) when the backlog is past a limit; else the estimate. */
  async admit(): Promise<BacklogEstimate> {
    const { maxJobs, maxEtaS } = this.options;
    if (maxJobs === 0 && maxEtaS === 0) return this.estimate();
    const estimate = await this.estimate();
    const overDepth = maxJobs > 0 && estimate.pending >= maxJobs;
    const overEta = maxEtaS > 0 && estimate.etaS !== null && estimate.etaS > maxEtaS;
    if (!overDepth && !overEta) return estimate;
    const eta = estimate.etaS === null ? "no estimate yet" : `about ${Math.ceil(estimate.etaS)} s to prove`;
    const limit = overDepth
      ? `${maxJobs} jobs (PROOFGATE_MAX_PROOF_BACKLOG)`
      : `${maxEtaS} s (PROOFGATE_MAX_PROOF_ETA_S)`;
    throw new BacklogFullError(
      `The proof backlog is full: ${estimate.pending} proof jobs pending, ${eta}; the limit is ${limit}. Retry later, or send "proof": false to be served unproven now`,
      this.retryAfterS(estimate),
    );
  }

  /** Seconds until the backlog should be back under its limits, at the measured rate. */
  private retryAfterS(estimate: BacklogEstimate): number {
    const mean = this.meanProofSeconds;
    if (mean === null || estimate.etaS === null) return UNKNOWN_RETRY_AFTER_S;
    const { maxJobs, maxEtaS } = this.options;
    const excessJobs = maxJobs > 0 ? estimate.pending - maxJobs + 1 : 0;
    const byDepth = (excessJobs * mean) / this.slots;
    const byEta = maxEtaS > 0 ? estimate.etaS - maxEtaS : 0;
    return Math.max(1, Math.ceil(Math.max(byDepth, byEta)));
  }

  private get slots(): number {
    return Math.max(1, this.options.slots);
  }

  private async look(): Promise<BacklogEstimate> {
    const counts = await this.options.queue.counts();
    const pending = counts.waiting + counts.active + counts.delayed;
    const mean = this.meanProofSeconds;
    const estimate = {
      pending,
      etaS: mean === null ? null : Math.round(((pending + 1) * mean * 10) / this.slots) / 10,
    };
    this.last = estimate;
    return estimate;
  }
}

/** A refusal for a full backlog: 429 `overloaded`, with how long to wait. */
export class BacklogFullError extends ProofgateError {
  constructor(
    message: string,
    readonly retryAfterS: number,
  ) {
    super("overloaded", message, { retryable: true });
  }
}
