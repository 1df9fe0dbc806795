/**
 * The shared store for gateways and workers on many machines: PostgreSQL through a `pg` Pool.
 * Claims are one conditional UPDATE (row locks make concurrent claims serialize, and the loser's
 * re-checked WHERE fails); step writes lock their row with SELECT … FOR UPDATE.
 */
import pg from "pg";
import { ProofgateError } from "../core/errors.js";
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

export interface PostgresProofStoreOptions extends ProofStoreOptions {
  /** `postgres://user@host:port/db`, usually `$DATABASE_URL`. */
  readonly connectionString: string;
  /** A schema to keep the tables in (created if missing); tests use one per run. @defaultValue the server's search_path (public) */
  readonly schema?: string;
  /** @defaultValue 10 */
  readonly maxConnections?: number;
}

/** Serializes migrations across processes opening the same database at once (any constant works). */
const MIGRATION_LOCK_KEY = 7_301_945_101;

/**
 * int8 columns (created, updated_at) as numbers: both stay far below 2^53. json columns as their raw
 * text, so rows decode the same way as SQLite's and a JSON string value isn't parsed twice.
 */
const TYPES = {
  getTypeParser(oid: number, format?: "text" | "binary") {
    if (oid === pg.types.builtins.INT8) return (value: string) => Number(value);
    if (oid === pg.types.builtins.JSON) return (value: string) => value;
    return pg.types.getTypeParser(oid, format as "text");
  },
} as pg.CustomTypesConfig;

const INSERT_SQL = `INSERT INTO proofs (${PROOF_COLUMNS.join(", ")}) VALUES (${PROOF_COLUMNS.map((_, i) => `$${i + 1}`).join(", ")})`;

type Queryable = Pick<pg.Pool, "query"> | pg.PoolClient;

export class PostgresProofStore implements ProofStore {
  private readonly pool: pg.Pool;
  private readonly now: () => number;
  private closed = false;

  private constructor(pool: pg.Pool, now: () => number) {
    this.pool = pool;
    this.now = now;
  }

  static async open(options: PostgresProofStoreOptions): Promise<PostgresProofStore> {
    const schema = options.schema;
    if (schema !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) {
      throw new ProofgateError(
        "invalid_argument",
        `schema is ${JSON.stringify(schema)}; expected a lowercase SQL identifier`,
        {
          param: "schema",
        },
      );
    }
    const pool = new pg.Pool({
      connectionString: options.connectionString,
      max: options.maxConnections ?? 10,
      types: TYPES,
      ...(schema !== undefined ? { options: `-c search_path=${schema}` } : {}),
    });
    // An idle connection dropped by the server must not crash the process; the pool discards it
    // and the next query opens a fresh one (or fails loudly if the server is really gone).
    pool.on("error", () => {});
    try {
      await migrate(pool, schema);
    } catch (err) {
      await pool.end();
      throw err;
    }
    return new PostgresProofStore(pool, options.now ?? Date.now);
  }

  async create(record: NewProofRecord): Promise<ProofRecord> {
    const row = toProofRow(record, this.now());
    try {
      await this.pool.query(
        INSERT_SQL,
        PROOF_COLUMNS.map((column) => row[column]),
      );
    } catch (err) {
      if ((err as { code?: string }).code === "23505") throw proofExists(record.id, err); // unique_violation
      throw err;
    }
    return fromProofRow(row);
  }

  async get(id: string): Promise<ProofRecord | null> {
    const row = await getRow(this.pool, id);
    return row ? fromProofRow(row) : null;
  }

  async list(options?: ListProofsOptions): Promise<ListProofsResult> {
    const { status, model, limit, after, search } = checkListOptions(options);
    const where: string[] = [];
    const params: unknown[] = [];
    const param = (value: unknown) => `$${params.push(value)}`;
    if (status !== undefined) where.push(`status = ${param(status)}`);
    if (model !== undefined) where.push(`model = ${param(model)}`);
    if (search !== undefined) {
      // Signals are matched exactly by jsonb containment; the LIKE on the JSON text (digits only, so no
      // wildcard) first skips the rows that cannot hold them. Matches memory's matchesSearch.
      const terms = [`id = ${param(search.text)}`, `lower(chain->>'tx_hash') = ${param(search.lower)}`];
      if (search.number !== null) {
        const number = param(search.number);
        const like = param(`%"${search.number}"%`);
        terms.push(
          `chain->>'input_commitment' = ${number}`,
          `(public_signals::text LIKE ${like} AND public_signals::jsonb @> jsonb_build_array(${number}::text))`,
          `(steps::text LIKE ${like} AND steps::jsonb @> jsonb_build_array(jsonb_build_object('public_signals', jsonb_build_array(${number}::text))))`,
        );
      }
      where.push(`(${terms.join(" OR ")})`);
    }
    if (after !== undefined) {
      const cursor = await getRow(this.pool, after);
      if (!cursor) throw unknownCursor(after);
      where.push(`(created, id) < (${param(cursor.created)}, ${param(cursor.id)})`);
    }
    const sql = `SELECT * FROM proofs ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY created DESC, id DESC LIMIT ${param(limit + 1)}`;
    const { rows } = await this.pool.query<ProofRow>(sql, params);
    return { data: rows.slice(0, limit).map(fromProofRow), hasMore: rows.length > limit };
  }

  async transition(
    id: string,
    from: ProofStatus,
    to: ProofStatus,
    patch: ProofRecordPatch = {},
  ): Promise<ProofRecord | null> {
    assertTransition(from, to);
    const params: unknown[] = [to, to === "proving" ? 1 : 0, this.now()];
    const sets = patchSql(patch, params);
    // One statement: the WHERE on status is the compare-and-set.
    const sql = `UPDATE proofs SET status = $1, attempts = attempts + $2, updated_at = $3${sets}
      WHERE id = $${params.push(id)} AND status = $${params.push(from)} RETURNING *`;
    const { rows } = await this.pool.query<ProofRow>(sql, params);
    if (rows[0]) return fromProofRow(rows[0]);
    if (!(await getRow(this.pool, id))) throw proofNotFound(id);
    return null;
  }

  async update(id: string, patch: ProofRecordPatch): Promise<ProofRecord> {
    return this.updateRow(this.pool, id, patch);
  }

  async updateStep(id: string, index: number, patch: ProofStepPatch): Promise<ProofRecord> {
    const client = await this.pool.connect();
    try {
      await client.query("BEGIN");
      const current = await getRow(client, id, "FOR UPDATE");
      if (!current) throw proofNotFound(id);
      const steps = applyStepPatch(id, fromProofRow(current).steps, index, patch);
      const record = await this.updateRow(client, id, { steps });
      await client.query("COMMIT");
      return record;
    } catch (err) {
      await client.query("ROLLBACK").catch(() => {});
      throw err;
    } finally {
      client.release();
    }
  }

  async findByStatus(options: FindByStatusOptions): Promise<ProofRecord[]> {
    const { statuses, olderThanMs, limit } = checkFindOptions(options);
    const { rows } = await this.pool.query<ProofRow>(
      "SELECT * FROM proofs WHERE status = ANY($1::text[]) AND updated_at <= $2 ORDER BY updated_at, id LIMIT $3",
      [statuses, this.now() - olderThanMs, limit],
    );
    return rows.map(fromProofRow);
  }

  async findOnChain(options: FindOnChainOptions): Promise<ProofRecord[]> {
    const { status, chainId, after, limit } = checkFindOnChainOptions(options);
    // chain is json: its chain_id compared as text, the decimal JSON number as written
    const { rows } = await this.pool.query<ProofRow>(
      "SELECT * FROM proofs WHERE status = $1 AND chain->>'chain_id' = $2 AND ($3::text IS NULL OR id > $3) ORDER BY id LIMIT $4",
      [status, String(chainId), after ?? null, limit],
    );
    return rows.map(fromProofRow);
  }

  async countByStatus(): Promise<ProofStatusCount[]> {
    const { rows } = await this.pool.query<ProofStatusCount>(
      'SELECT status, model, COUNT(*)::int AS count, MIN(created) AS "oldestCreated" FROM proofs GROUP BY status, model ORDER BY status, model',
    );
    return rows;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }

  private async updateRow(db: Queryable, id: string, patch: ProofRecordPatch): Promise<ProofRecord> {
    const params: unknown[] = [this.now()];
    const sets = patchSql(patch, params);
    const { rows } = await db.query<ProofRow>(
      `UPDATE proofs SET updated_at = $1${sets} WHERE id = $${params.push(id)} RETURNING *`,
      params,
    );
    if (!rows[0]) throw proofNotFound(id);
    return fromProofRow(rows[0]);
  }
}

async function getRow(db: Queryable, id: string, lock = ""): Promise<ProofRow | undefined> {
  const { rows } = await db.query<ProofRow>(`SELECT * FROM proofs WHERE id = $1 ${lock}`, [id]);
  return rows[0];
}

/** `, col = $n` per patched column, appending to `params`; timings merge key by key into the stored object. */
function patchSql(patch: ProofRecordPatch, params: unknown[]): string {
  return toPatchColumns(patch)
    .map(({ column, value, merge }) => {
      const ref = `$${params.push(value)}`;
      return `, ${column} = ${merge ? `(${column}::jsonb || ${ref}::jsonb)::json` : ref}`;
    })
    .join("");
}

async function migrate(pool: pg.Pool, schema: string | undefined): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    await client.query("SELECT pg_advisory_xact_lock($1)", [MIGRATION_LOCK_KEY]);
    if (schema !== undefined) await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    await client.query(SCHEMA_MIGRATIONS_DDL.postgres);
    const { rows } = await client.query<{ version: number }>("SELECT version FROM schema_migrations");
    for (const migration of pendingMigrations(rows.map((r) => r.version))) {
      await client.query(migration.sql.postgres);
      await client.query("INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)", [
        migration.version,
        migration.name,
        Date.now(),
      ]);
    }
    await client.query("COMMIT");
  } catch (err) {
    await client.query("ROLLBACK").catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}
