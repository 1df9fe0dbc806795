/**
 * The embedded default store: one SQLite file (better-sqlite3). WAL mode lets the API read while
 * workers write, and SQLite's single writer makes every write here atomic across processes sharing
 * the file, with `busy_timeout` waiting out the lock instead of failing.
 */
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import { assertTransition, type NewProofRecord, type ProofRecord, type ProofStatus } from "../core/proof-record.js";
import { SCHEMA_MIGRATIONS_DDL, pendingMigrations } from "./migrations.js";
import {
  PROOF_COLUMNS,
  applyStepPatch,
  checkFindOnChainOptions,
  checkFindOptions,
  checkListOptions,
  fromProofRow,
  proofExists,
  proofNotFound,
  toPatchColumns,
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

export interface SqliteProofStoreOptions extends ProofStoreOptions {
  /** A file path (its folder is created), or `:memory:` for a private in-process database. */
  readonly path: string;
  /** How long a write waits for another process's lock before failing. @defaultValue 5000 */
  readonly busyTimeoutMs?: number;
}

const INSERT_SQL = `INSERT INTO proofs (${PROOF_COLUMNS.join(", ")}) VALUES (${PROOF_COLUMNS.map((c) => `@${c}`).join(", ")})`;

export class SqliteProofStore implements ProofStore {
  private readonly db: Database.Database;
  private readonly now: () => number;

  private constructor(db: Database.Database, now: () => number) {
    this.db = db;
    this.now = now;
  }

  static open(options: SqliteProofStoreOptions): SqliteProofStore {
    if (options.path !== ":memory:") mkdirSync(dirname(options.path), { recursive: true });
    const db = new Database(options.path, { timeout: options.busyTimeoutMs ?? 5000 });
    try {
      db.pragma("journal_mode = WAL");
      // NORMAL is durable across a process crash in WAL mode; only an OS crash can lose the last commits.
      db.pragma("synchronous = NORMAL");
      migrate(db);
    } catch (err) {
      db.close();
      throw err;
    }
    return new SqliteProofStore(db, options.now ?? Date.now);
  }

  async create(record: NewProofRecord): Promise<ProofRecord> {
    const row = toProofRow(record, this.now());
    try {
      this.db.prepare(INSERT_SQL).run(row);
    } catch (err) {
      if ((err as { code?: string }).code === "SQLITE_CONSTRAINT_PRIMARYKEY") throw proofExists(record.id, err);
      throw err;
    }
    return fromProofRow(row);
  }

  async get(id: string): Promise<ProofRecord | null> {
    const row = this.getRow(id);
    return row ? fromProofRow(row) : null;
  }

  async list(options?: ListProofsOptions): Promise<ListProofsResult> {
    const { status, model, limit, after, search } = checkListOptions(options);
    const where: string[] = [];
    const params: unknown[] = [];
    if (status !== undefined) {
      where.push("status = ?");
      params.push(status);
    }
    if (model !== undefined) {
      where.push("model = ?");
      params.push(model);
    }
    if (search !== undefined) {
      // Signals are matched exactly through json_each; the LIKE on the JSON text (digits only, so no
      // wildcard) first skips the rows that cannot hold them. Matches memory's matchesSearch.
      const terms = ["id = ?", "lower(json_extract(chain, '$.tx_hash')) = ?"];
      params.push(search.text, search.lower);
      if (search.number !== null) {
        const like = `%"${search.number}"%`;
        terms.push(
          "json_extract(chain, '$.input_commitment') = ?",
          "(public_signals LIKE ? AND EXISTS (SELECT 1 FROM json_each(proofs.public_signals) AS sig WHERE sig.value = ?))",
          "(steps LIKE ? AND EXISTS (SELECT 1 FROM json_each(proofs.steps) AS step, json_each(step.value, '$.public_signals') AS sig WHERE sig.value = ?))",
        );
        params.push(search.number, like, search.number, like, search.number);
      }
      where.push(`(${terms.join(" OR ")})`);
    }
    if (after !== undefined) {
      const cursor = this.getRow(after);
      if (!cursor) throw unknownCursor(after);
      where.push("(created < ? OR (created = ? AND id < ?))");
      params.push(cursor.created, cursor.created, cursor.id);
    }
    const sql = `SELECT * FROM proofs ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY created DESC, id DESC LIMIT ?`;
    const rows = this.db.prepare(sql).all(...params, limit + 1) as ProofRow[];
    return { data: rows.slice(0, limit).map(fromProofRow), hasMore: rows.length > limit };
  }

  async transition(
    id: string,
    from: ProofStatus,
    to: ProofStatus,
    patch: ProofRecordPatch = {},
  ): Promise<ProofRecord | null> {
    assertTransition(from, to);
    const { sets, params } = patchSql(patch);
    // One statement: the WHERE on status is the compare-and-set.
    const sql = `UPDATE proofs SET status = ?, attempts = attempts + ?, updated_at = ?${sets} WHERE id = ? AND status = ? RETURNING *`;
    const row = this.db.prepare(sql).get(to, to === "proving" ? 1 : 0, this.now(), ...params, id, from) as
      | ProofRow
      | undefined;
    if (row) return fromProofRow(row);
    if (!this.getRow(id)) throw proofNotFound(id);
    return null;
  }

  async update(id: string, patch: ProofRecordPatch): Promise<ProofRecord> {
    const { sets, params } = patchSql(patch);
    const sql = `UPDATE proofs SET updated_at = ?${sets} WHERE id = ? RETURNING *`;
    const row = this.db.prepare(sql).get(this.now(), ...params, id) as ProofRow | undefined;
    if (!row) throw proofNotFound(id);
    return fromProofRow(row);
  }

  async updateStep(id: string, index: number, patch: ProofStepPatch): Promise<ProofRecord> {
    // Read-modify-write under BEGIN IMMEDIATE: the write lock is taken before the read, so a
    // parallel step written by another process cannot slip in between.
    const write = this.db.transaction(() => {
      const current = this.getRow(id);
      if (!current) throw proofNotFound(id);
      const steps = applyStepPatch(id, fromProofRow(current).steps, index, patch);
      const { sets, params } = patchSql({ steps });
      return this.db
        .prepare(`UPDATE proofs SET updated_at = ?${sets} WHERE id = ? RETURNING *`)
        .get(this.now(), ...params, id) as ProofRow;
    });
    return fromProofRow(write.immediate());
  }

  async findByStatus(options: FindByStatusOptions): Promise<ProofRecord[]> {
    const { statuses, olderThanMs, limit } = checkFindOptions(options);
    if (statuses.length === 0) return [];
    const sql = `SELECT * FROM proofs WHERE status IN (${statuses.map(() => "?").join(", ")}) AND updated_at <= ? ORDER BY updated_at, id LIMIT ?`;
    const rows = this.db.prepare(sql).all(...statuses, this.now() - olderThanMs, limit) as ProofRow[];
    return rows.map(fromProofRow);
  }

  async findOnChain(options: FindOnChainOptions): Promise<ProofRecord[]> {
    const { status, chainId, after, limit } = checkFindOnChainOptions(options);
    const sql = `SELECT * FROM proofs WHERE status = ? AND json_extract(chain, '$.chain_id') = ?${after === undefined ? "" : " AND id > ?"} ORDER BY id LIMIT ?`;
    const rows = this.db
      .prepare(sql)
      .all(status, chainId, ...(after === undefined ? [] : [after]), limit) as ProofRow[];
    return rows.map(fromProofRow);
  }

  async countByStatus(): Promise<ProofStatusCount[]> {
    const sql =
      "SELECT status, model, COUNT(*) AS count, MIN(created) AS oldestCreated FROM proofs GROUP BY status, model ORDER BY status, model";
    return this.db.prepare(sql).all() as ProofStatusCount[];
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }

  private getRow(id: string): ProofRow | undefined {
    return this.db.prepare("SELECT * FROM proofs WHERE id = ?").get(id) as ProofRow | undefined;
  }
}

/** `, col = ?` per patched column; timings merge into the stored object (RFC 7396 merge patch). */
function patchSql(patch: ProofRecordPatch): { sets: string; params: unknown[] } {
  const columns = toPatchColumns(patch);
  return {
    sets: columns.map(({ column, merge }) => `, ${column} = ${merge ? `json_patch(${column}, ?)` : "?"}`).join(""),
    params: columns.map(({ value }) => value),
  };
}

function migrate(db: Database.Database): void {
  db.transaction(() => {
    db.exec(SCHEMA_MIGRATIONS_DDL.sqlite);
    const applied = (db.prepare("SELECT version FROM schema_migrations").all() as { version: number }[]).map(
      (r) => r.version,
    );
    for (const migration of pendingMigrations(applied)) {
      db.exec(migration.sql.sqlite);
      db.prepare("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)").run(
        migration.version,
        migration.name,
        Date.now(),
      );
    }
  }).immediate();
}
