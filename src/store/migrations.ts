/**
 * Versioned schema, one SQL text per dialect. Each store applies the versions missing from its
 * `schema_migrations` table when it opens, inside one locked transaction, so several processes
 * opening the same database at once apply each version exactly once. Append new versions; never
 * edit one that has shipped.
 */
export type SqlDialect = "sqlite" | "postgres";

export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: Readonly<Record<SqlDialect, string>>;
}

export const SCHEMA_MIGRATIONS_DDL: Readonly<Record<SqlDialect, string>> = {
  sqlite:
    "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)",
  postgres:
    "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)",
};

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "proofs",
    sql: {
      // JSON columns are TEXT: a column declared JSON would get NUMERIC affinity in SQLite and turn
      // an output of "12345678901234567890" into a lossy REAL.
      sqlite: `
        CREATE TABLE proofs (
          id TEXT PRIMARY KEY,
          model TEXT NOT NULL,
          created INTEGER NOT NULL,
          status TEXT NOT NULL,
          request TEXT NOT NULL CHECK (json_valid(request)),
          output TEXT NOT NULL CHECK (json_valid(output)),
          public_signals TEXT NOT NULL CHECK (json_valid(public_signals)),
          proof TEXT NOT NULL CHECK (json_valid(proof)),
          vkey_hash TEXT,
          steps TEXT NOT NULL CHECK (json_valid(steps)),
          timings TEXT NOT NULL CHECK (json_valid(timings)),
          chain TEXT NOT NULL CHECK (json_valid(chain)),
          prover TEXT,
          error TEXT,
          attempts INTEGER NOT NULL DEFAULT 0,
          updated_at INTEGER NOT NULL
        );
        CREATE INDEX proofs_newest ON proofs (created DESC, id DESC);
        CREATE INDEX proofs_status_updated ON proofs (status, updated_at);
      `,
      // json, not jsonb: json keeps the text as written (key order included), so a request stays
      // byte-for-byte what was committed. id uses collation "C" so pages order ids by bytes, as SQLite does.
      postgres: `
        CREATE TABLE proofs (
          id TEXT COLLATE "C" PRIMARY KEY,
          model TEXT NOT NULL,
          created BIGINT NOT NULL,
          status TEXT NOT NULL,
          request JSON NOT NULL,
          output JSON NOT NULL,
          public_signals JSON NOT NULL,
          proof JSON NOT NULL,
          vkey_hash TEXT,
          steps JSON NOT NULL,
          timings JSON NOT NULL,
          chain JSON NOT NULL,
          prover TEXT,
          error TEXT,
          attempts INTEGER NOT NULL DEFAULT 0,
          updated_at BIGINT NOT NULL
        );
        CREATE INDEX proofs_newest ON proofs (created DESC, id DESC);
        CREATE INDEX proofs_status_updated ON proofs (status, updated_at);
      `,
    },
  },
];

/** The migrations not yet in `applied`, in version order. */
export function pendingMigrations(applied: Iterable<number>): Migration[] {
  const done = new Set(applied);
  return MIGRATIONS.filter((m) => !done.has(m.version)).sort((a, b) => a.version - b.version);
}
