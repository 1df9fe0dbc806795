/**
 * Real `proofgate worker` processes on one machine sharing the embedded SQLite store (a temporary
 * $PROOFGATE_DATA_DIR, no DATABASE_URL) and one BullMQ queue: they split the work with every record
 * proved exactly once, and a worker stopped with SIGTERM finishes the proofs it holds and exits 0.
 * Each test has its own folder and key prefix, removed afterwards. Skips with a reason when no Redis
 * answers on a developer machine; under CI=true a missing Redis fails (STYLE rule 10).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import type { ProofRecord } from "../../src/core/proof-record.js";
import { PATIENCE_MS } from "../fixtures/until.js";
import {
  clusterSuite,
  countByStatus,
  readAll,
  redisUnreachable,
  untilRecords,
  waitAllFinal,
} from "./prover-cluster.fixture.js";

const skip = await redisUnreachable();

const suite = clusterSuite("sqlite", skip);

test("sqlite: two worker processes share the jobs through one SQLite file; each record is proved exactly once", {
  skip,
  timeout: 2 * PATIENCE_MS,
}, async () => {
  const cluster = await suite.open();
  const [a, b] = await cluster.startWorkers([{ name: "worker-a" }, { name: "worker-b" }]);
  const ids = await cluster.schedule(suite.work, 16);

  const records = await waitAllFinal(cluster.store, ids);
  assert.deepEqual(countByStatus(records), { proved: ids.length });
  const counts: Record<string, number> = {};
  for (const r of records) {
    assert.equal(r.attempts, 1, `${r.id} was claimed once`);
    assert.ok(r.prover === a.name || r.prover === b.name, `${r.id} was proved by ${r.prover}`);
    assert.ok(r.publicSignals && r.proof, `${r.id} holds its proof`);
    counts[r.prover!] = (counts[r.prover!] ?? 0) + 1;
  }
  assert.ok(
    (counts[a.name] ?? 0) > 0 && (counts[b.name] ?? 0) > 0,
    `both workers proved some: ${JSON.stringify(counts)}`,
  );
  for (const w of [a, b]) {
    assert.equal(w.logs.filter((l) => l.msg === "proof job failed").length, 0, `${w.name} had no failed job`);
    assert.deepEqual(await w.stop("SIGTERM"), { code: 0, signal: null }, `${w.name} stops cleanly`);
  }
});

test("sqlite: a worker sent SIGTERM while proving finishes the proofs it holds and exits 0; the other worker does the rest", {
  skip,
  timeout: 2 * PATIENCE_MS,
}, async () => {
  const cluster = await suite.open();
  const [leaving, staying] = await cluster.startWorkers([
    { name: "worker-leaving", concurrency: 2 },
    { name: "worker-staying", concurrency: 1 },
  ]);
  const ids = await cluster.schedule(suite.work, 10);

  const mine = (records: readonly ProofRecord[]) =>
    records.filter((r) => r.status === "proving" && r.prover === leaving.name).map((r) => r.id);
  const held = mine(
    await untilRecords(
      cluster.store,
      ids,
      (records) => mine(records).length > 0,
      "the leaving worker to hold a record",
      25,
    ),
  );
  const exit = await leaving.signal("SIGTERM");
  assert.ok(
    leaving.logs.some((l) => l.msg === "stopping: finishing the proofs in flight"),
    "it said it was finishing",
  );

  // what it held when it stopped is done, by it: nothing of its own is left proving or handed back
  const afterStop = await readAll(cluster.store, ids);
  assert.deepEqual(
    afterStop.filter((r) => r.prover === leaving.name && r.status !== "proved").map((r) => r.id),
    [],
    "none of its records left unfinished",
  );
  for (const id of held) {
    const r = afterStop.find((x) => x.id === id)!;
    assert.equal(r.status, "proved", `${id}, held at SIGTERM, was finished`);
    assert.equal(r.prover, leaving.name, `${id} was finished by the worker that held it`);
    assert.equal(r.attempts, 1);
  }
  if (!exit) await leaving.kill();
  const lastLines = JSON.stringify(leaving.logs.slice(-3).map((l) => l.msg));
  assert.deepEqual(
    exit,
    { code: 0, signal: null },
    `exits 0 soon after SIGTERM (last log lines: ${lastLines}; stderr: ${leaving.stderr.slice(-1000)})`,
  );

  const records = await waitAllFinal(cluster.store, ids);
  assert.deepEqual(countByStatus(records), { proved: ids.length });
  for (const r of records) assert.equal(r.attempts, 1, `${r.id} was claimed once`);
  assert.ok(
    records.some((r) => r.prover === staying.name),
    "the other worker proved the rest",
  );
  assert.deepEqual(await staying.stop("SIGTERM"), { code: 0, signal: null });
});
