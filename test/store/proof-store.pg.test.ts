/**
 * The conformance suite on a real PostgreSQL ($DATABASE_URL, default the local test database). Each
 * test gets its own schema, dropped afterwards, so concurrent runs don't collide. Skips with a reason
 * when no server answers on a developer machine; under CI=true a missing server fails (STYLE rule 10).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import pg from "pg";
import { MIGRATIONS } from "../../src/store/migrations.js";
import { PostgresProofStore } from "../../src/store/proof-store-postgres.js";
import { runProofStoreConformance } from "./proof-store.conformance.js";

const connectionString = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const runId = `${process.pid}_${randomBytes(3).toString("hex")}`;
let schemaCount = 0;

async function withClient<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString, connectionTimeoutMillis: 3000 });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

async function unreachable(): Promise<string | undefined> {
  try {
    await withClient((client) => client.query("SELECT 1"));
    return undefined;
  } catch (err) {
    if (process.env.CI === "true")
      throw new Error(`PostgreSQL at ${connectionString} is required under CI=true`, { cause: err });
    return `no PostgreSQL at ${connectionString} (${(err as Error).message})`;
  }
}

const skip = await unreachable();

function freshSchema(): string {
  return `proofgate_test_${runId}_${++schemaCount}`;
}

const dropSchema = (schema: string) => withClient((client) => client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`));

runProofStoreConformance(
  "postgres",
  {
    async open(now) {
      const schema = freshSchema();
      return {
        store: await PostgresProofStore.open({ connectionString, schema, now }),
        openAnother: () => PostgresProofStore.open({ connectionString, schema, now }),
        dispose: () => dropSchema(schema).then(() => undefined),
      };
    },
  },
  { skip },
);

test("postgres: stores opening a fresh schema at once apply each migration exactly once", { skip }, async () => {
  const schema = freshSchema();
  try {
    const stores = await Promise.all(
      Array.from({ length: 4 }, () => PostgresProofStore.open({ connectionString, schema, maxConnections: 2 })),
    );
    await Promise.all(stores.map((s) => s.close()));
    const { rows } = await withClient((client) =>
      client.query(`SELECT version FROM ${schema}.schema_migrations ORDER BY version`),
    );
    assert.deepEqual(
      rows,
      MIGRATIONS.map((m) => ({ version: m.version })),
    );
  } finally {
    await dropSchema(schema);
  }
});
