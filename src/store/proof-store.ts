/**
 * The record-store port: the source of truth for proof records (issue 5). The gateway creates
 * records, workers claim and finish them, the API reads them, and a sweep re-enqueues what a queue
 * lost. Implementations: memory (tests, fakes), SQLite (embedded default), PostgreSQL (many machines);
 * one conformance suite (test/store/) holds them to the same behaviour.
 */
import type { NewProofRecord, ProofRecord, ProofStatus, ProofStep } from "../core/proof-record.js";

/** Fields a worker may change. Each replaces the stored value, except `timings`, which merges key by key. */
export type ProofRecordPatch = Partial<
  Pick<
    ProofRecord,
    "output" | "publicSignals" | "proof" | "vkeyHash" | "steps" | "timings" | "chain" | "prover" | "error"
  >
>;

/** Fields of one step a worker may change; `timings` merges key by key, as in `ProofRecordPatch`. */
export type ProofStepPatch = Partial<Omit<ProofStep, "index">>;

export interface ListProofsOptions {
  readonly status?: ProofStatus;
  readonly model?: string;
  /** 1 to 100. @defaultValue 20 */
  readonly limit?: number;
  /** Cursor: the id of the last record of the previous page. */
  readonly after?: string;
  /**
   * Only records this text names exactly: the proof id, the chain transaction hash (any case), the
   * chain input commitment, or one public signal of the record or of one of its steps. A number
   * matches in decimal or as 0x-hex (`0x1f` finds the signal `"31"`). 1 to 100 characters.
   */
  readonly search?: string;
}

export interface ListProofsResult {
  /** Newest first: by `created` descending, then `id` descending. */
  readonly data: ProofRecord[];
  readonly hasMore: boolean;
}

export interface FindByStatusOptions {
  readonly statuses: readonly ProofStatus[];
  /** Only records not written for at least this long (a lease that has run out). @defaultValue 0 */
  readonly olderThanMs?: number;
  /** @defaultValue 1000 */
  readonly limit?: number;
}

export interface FindOnChainOptions {
  readonly status: ProofStatus;
  /** Only records whose `chain.chainId` is this one. */
  readonly chainId: number;
  /** Cursor: only records whose id sorts after this one (ids ascending, by bytes). */
  readonly after?: string;
  /** @defaultValue 1000 */
  readonly limit?: number;
}

/** Records of one status and model: how many, and when the oldest of them was created. */
export interface ProofStatusCount {
  readonly status: ProofStatus;
  readonly model: string;
  readonly count: number;
  /** Unix seconds: the least `created` among them. */
  readonly oldestCreated: number;
}

export interface ProofStore {
  /** Throws `conflict` when the id exists. */
  create(record: NewProofRecord): Promise<ProofRecord>;
  get(id: string): Promise<ProofRecord | null>;
  /** Throws `invalid_argument` (param `limit`, `status`, `search` or `after`) for a bad limit, status, search or unknown cursor. */
  list(options?: ListProofsOptions): Promise<ListProofsResult>;
  /**
   * Compare-and-set on status: moves `from → to` and applies `patch` in one atomic write, only if the
   * record is still `from`; otherwise returns null, so of two workers claiming a job exactly one wins.
   * Moving into `proving` adds one to `attempts`. Throws `conflict` for a move `ALLOWED_TRANSITIONS`
   * forbids and `not_found` for an unknown id.
   */
  transition(id: string, from: ProofStatus, to: ProofStatus, patch?: ProofRecordPatch): Promise<ProofRecord | null>;
  /** Changes fields without touching status. Throws `not_found` for an unknown id. */
  update(id: string, patch: ProofRecordPatch): Promise<ProofRecord>;
  /**
   * Changes one step atomically, so child jobs proving steps in parallel, even on different machines,
   * don't overwrite each other. Throws `not_found` (param `index`) when the record has no such step.
   */
  updateStep(id: string, index: number, patch: ProofStepPatch): Promise<ProofRecord>;
  /** Oldest write first: what a re-enqueue sweep needs (records still `queued`/`proving` past a lease). */
  findByStatus(options: FindByStatusOptions): Promise<ProofRecord[]>;
  /**
   * Records in one status whose receipt names one chain, by id ascending, a page at a time (`after`):
   * what the start-up re-check walks through, all of it, even while it moves records out of the status.
   */
  findOnChain(options: FindOnChainOptions): Promise<ProofRecord[]>;
  /** Every (status, model) that has records, in one query (order unspecified): what /metrics reads at scrape time. */
  countByStatus(): Promise<ProofStatusCount[]>;
  /** Safe to call twice. */
  close(): Promise<void>;
}

export interface ProofStoreOptions {
  /** Milliseconds since the epoch, for `updatedAtMs`; tests pass a fake clock. @defaultValue Date.now */
  readonly now?: () => number;
}
