/**
 * The in-memory twin of the SQL stores, for tests and fakes. It keeps encoded rows, not live objects,
 * so callers get copies and anything that would not survive a real database (undefined, shared
 * references) doesn't survive here either.
 */
import { assertTransition, type NewProofRecord, type ProofRecord, type ProofStatus } from "../core/proof-record.js";
import {
  applyRecordPatch,
  applyStepPatch,
  checkFindOnChainOptions,
  checkFindOptions,
  checkListOptions,
  fromProofRow,
  matchesSearch,
  proofExists,
  proofNotFound,
  toProofRow,
  unknownCursor,
  type ProofRow,
} from "./proof-row.js";
import type {
  FindByStatusOptions,
  FindOnChainOptions,
  ListProofsOptions,
  ListProofsResult,
  ProofRecordPatch,
  ProofStepPatch,
  ProofStatusCount,
  ProofStore,
  ProofStoreOptions,
} from "./proof-store.js";

/** Newest first, as the SQL stores' ORDER BY created DESC, id DESC. */
function newestFirst(a: ProofRow, b: ProofRow): number {
  if (a.created !== b.created) return b.created - a.created;
  return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}

/** Ids by their UTF-8 bytes, as SQLite's BINARY and PostgreSQL's "C" collation order them. */
function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

export class MemoryProofStore implements ProofStore {
  private readonly rows = new Map<string, ProofRow>();
  private readonly now: () => number;

  constructor(options: ProofStoreOptions = {}) {
    this.now = options.now ?? Date.now;
  }

  async create(record: NewProofRecord): Promise<ProofRecord> {
    if (this.rows.has(record.id)) throw proofExists(record.id);
    const row = toProofRow(record, this.now());
    this.rows.set(record.id, row);
    return fromProofRow(row);
  }

  async get(id: string): Promise<ProofRecord | null> {
    return this.read(id) ?? null;
  }

  async list(options?: ListProofsOptions): Promise<ListProofsResult> {
    const { status, model, limit, after, search } = checkListOptions(options);
    let cursor: ProofRow | undefined;
    if (after !== undefined) {
      cursor = this.rows.get(after);
      if (!cursor) throw unknownCursor(after);
    }
    const page = [...this.rows.values()]
      .filter((row) => (status === undefined || row.status === status) && (model === undefined || row.model === model))
      .filter((row) => cursor === undefined || newestFirst(cursor, row) < 0)
      .filter((row) => search === undefined || matchesSearch(fromProofRow(row), search))
      .sort(newestFirst)
      .slice(0, limit + 1);
    return { data: page.slice(0, limit).map(fromProofRow), hasMore: page.length > limit };
  }

  async transition(
    id: string,
    from: ProofStatus,
    to: ProofStatus,
    patch: ProofRecordPatch = {},
  ): Promise<ProofRecord | null> {
    assertTransition(from, to);
    const current = this.read(id);
    if (!current) throw proofNotFound(id);
    if (current.status !== from) return null;
    const attempts = current.attempts + (to === "proving" ? 1 : 0);
    return this.write({ ...applyRecordPatch(current, patch), status: to, attempts });
  }

  async update(id: string, patch: ProofRecordPatch): Promise<ProofRecord> {
    const current = this.read(id);
    if (!current) throw proofNotFound(id);
    return this.write(applyRecordPatch(current, patch));
  }

  async updateStep(id: string, index: number, patch: ProofStepPatch): Promise<ProofRecord> {
    const current = this.read(id);
    if (!current) throw proofNotFound(id);
    return this.write({ ...current, steps: applyStepPatch(id, current.steps, index, patch) });
  }

  async findByStatus(options: FindByStatusOptions): Promise<ProofRecord[]> {
    const { statuses, olderThanMs, limit } = checkFindOptions(options);
    const cutoff = this.now() - olderThanMs;
    return [...this.rows.values()]
      .filter((row) => statuses.includes(row.status as ProofStatus) && row.updated_at <= cutoff)
      .sort((a, b) => a.updated_at - b.updated_at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
      .slice(0, limit)
      .map(fromProofRow);
  }

  async findOnChain(options: FindOnChainOptions): Promise<ProofRecord[]> {
    const { status, chainId, after, limit } = checkFindOnChainOptions(options);
    return [...this.rows.values()]
      .map(fromProofRow)
      .filter(
        (r) =>
          r.status === status && r.chain?.chainId === chainId && (after === undefined || byteOrder(r.id, after) > 0),
      )
      .sort((a, b) => byteOrder(a.id, b.id))
      .slice(0, limit);
  }

  async countByStatus(): Promise<ProofStatusCount[]> {
    const groups = new Map<string, { status: ProofStatus; model: string; count: number; oldestCreated: number }>();
    for (const row of this.rows.values()) {
      const key = JSON.stringify([row.status, row.model]);
      const group = groups.get(key);
      if (group) {
        group.count++;
        group.oldestCreated = Math.min(group.oldestCreated, row.created);
      } else
        groups.set(key, { status: row.status as ProofStatus, model: row.model, count: 1, oldestCreated: row.created });
    }
    // as the SQL stores' ORDER BY status, model (byte order)
    return [...groups.values()].sort((a, b) => byteOrder(a.status, b.status) || byteOrder(a.model, b.model));
  }

  async close(): Promise<void> {}

  /**
   * Synchronous on purpose: every read-modify-write below runs without an await between read and
   * write, which is what makes transition a compare-and-set on a single-threaded event loop.
   */
  private read(id: string): ProofRecord | undefined {
    const row = this.rows.get(id);
    return row ? fromProofRow(row) : undefined;
  }

  private write(record: NewProofRecord): ProofRecord {
    const row = toProofRow(record, this.now());
    this.rows.set(record.id, row);
    return fromProofRow(row);
  }
}
