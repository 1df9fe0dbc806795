/**
 * When each record the submitter holds may be tried again: after an RPC failure, a backoff from
 * `baseMs` doubled each time up to 30 s; after a revert the chain's state does not explain, at once,
 * the reverts in a row counted (the submission policy fails the record after a few).
 */
const MAX_BACKOFF_MS = 30_000;

interface Entry {
  readonly at: number;
  readonly delay: number;
  readonly reverts: number;
}

export class RetrySchedule {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly baseMs: number,
    private readonly now: () => number,
  ) {}

  /** Records waiting for a retry. */
  get size(): number {
    return this.entries.size;
  }

  has(id: string): boolean {
    return this.entries.has(id);
  }

  /** Whether its retry is still ahead. */
  isWaiting(id: string): boolean {
    const entry = this.entries.get(id);
    return entry !== undefined && entry.at > this.now();
  }

  /** Reverts in a row the chain's state did not explain. */
  reverts(id: string): number {
    return this.entries.get(id)?.reverts ?? 0;
  }

  /** Schedules the retry after an RPC failure; returns its delay. */
  backoff(id: string): number {
    const previous = this.entries.get(id);
    const delay = Math.min(MAX_BACKOFF_MS, Math.max(previous?.delay ?? 0, this.baseMs / 2) * 2);
    this.entries.set(id, { at: this.now() + delay, delay, reverts: previous?.reverts ?? 0 });
    return delay;
  }

  /** Retries at once, after the `reverts`-th revert in a row. */
  again(id: string, reverts: number): void {
    this.entries.set(id, { at: this.now(), delay: 0, reverts });
  }

  clear(id: string): void {
    this.entries.delete(id);
  }
}
