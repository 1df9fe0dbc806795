import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { newProofRecord } from "../../src/core/proof-record.js";
import { MIGRATIONS } from "../../src/store/migrations.js";
import { SqliteProofStore } from "../../src/store/proof-store-sqlite.js";
import { runProofStoreConformance } from "./proof-store.conformance.js";

runProofStoreConformance("sqlite", {
  async open(now) {
    const dir = await mkdtemp(join(tmpdir(), "proofgate-store-"));
    const path = join(dir, "nested", "proofs.db"); // the store creates missing folders
    return {
      store: SqliteProofStore.open({ path, now }),
      openAnother: async () => SqliteProofStore.open({ path, now }),
      dispose: () => rm(dir, { recursive: true, force: true }),
    };
  },
});

test("sqlite: a file is in WAL mode and reopening applies each migration once", async () => {
  const dir = await mkdtemp(join(tmpdir(), "proofgate-store-"));
  try {
    const path = join(dir, "proofs.db");
    for (let i = 0; i < 3; i++) await SqliteProofStore.open({ path }).close();
    const db = new Database(path, { readonly: true });
    assert.equal(db.pragma("journal_mode", { simple: true }), "wal");
    assert.deepEqual(
      db.prepare("SELECT version FROM schema_migrations").all(),
      MIGRATIONS.map((m) => ({ version: m.version })),
    );
    db.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("sqlite: :memory: works for a private in-process store", async () => {
  const store = SqliteProofStore.open({ path: ":memory:" });
  const record = await store.create(newProofRecord({ model: "m", request: [1, 2] }));
  assert.deepEqual(await store.get(record.id), record);
  await store.close();
});
