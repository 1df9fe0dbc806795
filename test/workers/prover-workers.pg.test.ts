/**
 * Real `proofgate worker` processes sharing one PostgreSQL store and one BullMQ queue: they split the
 * work with every record proved exactly once; a SIGKILLed worker's records go to the survivor; a
 * flushed Redis loses nothing because the sweep re-enqueues from the store. Each test has its own
 * schema and key prefix, removed afterwards. Skips with a reason when Redis or PostgreSQL is missing on
 * a developer machine; under CI=true a missing one fails (STYLE rule 10).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Redis } from "ioredis";
import * as snarkjs from "snarkjs";
import type { ProofRecord } from "../../src/core/proof-record.js";
import { PATIENCE_MS } from "../fixtures/until.js";
import {
  clusterSuite,
  REDIS_URL,
  countByStatus,
  postgresUnreachable,
  readAll,
  redisUnreachable,
  untilRecords,
  waitAllFinal,
} from "./prover-cluster.fixture.js";

const skip = (await redisUnreachable()) ?? (await postgresUnreachable());
const JOBS = 50;
/**
 * The flush test wipes Redis with FLUSHALL under CI=true (a Redis of its own) or with
 * PROOFGATE_TEST_FLUSHALL=1; elsewhere the Redis may be shared with other runs, so it deletes every
 * key of this run's prefix in one atomic script instead, which is the same loss for these workers.
 */
const FLUSHALL = process.env.CI === "true" || process.env.PROOFGATE_TEST_FLUSHALL === "1";
const DELETE_MATCHING =
  "local keys = redis.call('KEYS', ARGV[1]) for _, key in ipairs(keys) do redis.call('DEL', key) end return #keys";

const suite = clusterSuite("postgres", skip);

function byProver(records: readonly ProofRecord[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of records) counts[String(r.prover)] = (counts[String(r.prover)] ?? 0) + 1;
  return counts;
}

function assertAllProved(records: readonly ProofRecord[]): void {
  assert.deepEqual(countByStatus(records), { proved: records.length }, "every record ends proved");
  for (const r of records) {
    assert.ok(Array.isArray(r.publicSignals) && r.publicSignals.length > 0, `${r.id} has public signals`);
    assert.ok(r.proof && typeof r.proof === "object", `${r.id} has a proof`);
    assert.equal(r.error, null, `${r.id} has no error`);
  }
}

test("postgres: two worker processes share 50 jobs; each record is proved exactly once, and the proofs verify", {
  skip,
  timeout: 2 * PATIENCE_MS,
}, async () => {
  const cluster = await suite.open();
  const [a, b] = await cluster.startWorkers([{ name: "worker-a" }, { name: "worker-b" }]);
  const ids = await cluster.schedule(suite.work, JOBS);

  const records = await waitAllFinal(cluster.store, ids);
  assertAllProved(records);
  for (const r of records) {
    assert.equal(r.attempts, 1, `${r.id} was claimed once`);
    assert.ok(r.prover === a.name || r.prover === b.name, `${r.id} was proved by ${r.prover}`);
  }
  const counts = byProver(records);
  assert.ok(
    (counts[a.name] ?? 0) > 0 && (counts[b.name] ?? 0) > 0,
    `both workers proved some: ${JSON.stringify(counts)}`,
  );
  for (const w of [a, b]) {
    assert.equal(
      w.logs.filter((l) => l.msg === "proof finished after its record moved on").length,
      0,
      `${w.name} dropped no result`,
    );
    assert.equal(w.logs.filter((l) => l.msg === "proof job failed").length, 0, `${w.name} had no failed job`);
  }

  // a sample of the stored proofs verifies against the shipped verification key
  for (const r of [records[0], records[17], records[33], records[JOBS - 1]]) {
    const ok = await snarkjs.groth16.verify(suite.work.vkey, r.publicSignals!, r.proof as snarkjs.Groth16Proof);
    assert.equal(ok, true, `${r.id} verifies`);
  }
  // and a tampered one does not
  const tampered = [...records[0].publicSignals!];
  tampered[tampered.length - 1] = String(BigInt(tampered[tampered.length - 1]) + 1n);
  assert.equal(
    await snarkjs.groth16.verify(suite.work.vkey, tampered, records[0].proof as snarkjs.Groth16Proof),
    false,
  );

  for (const w of [a, b])
    assert.deepEqual(await w.stop("SIGTERM"), { code: 0, signal: null }, `${w.name} stops cleanly`);
});

test("postgres: a worker SIGKILLed mid-run loses nothing; the survivor finishes the records it had claimed", {
  skip,
  timeout: 2 * PATIENCE_MS,
}, async () => {
  const cluster = await suite.open();
  const [victim, survivor] = await cluster.startWorkers([
    { name: "worker-victim", concurrency: 2 },
    { name: "worker-survivor", concurrency: 1 },
  ]);
  const ids = await cluster.schedule(suite.work, JOBS);

  // once some work is done and the victim holds records, kill it without warning
  await untilRecords(
    cluster.store,
    ids,
    (records) =>
      records.filter((r) => r.status === "proved").length >= 5 &&
      records.some((r) => r.status === "proving" && r.prover === victim.name),
    "a moment with work done and records held by the victim",
    25,
  );
  victim.child.kill("SIGKILL");
  assert.equal((await victim.exited).signal, "SIGKILL");
  const orphaned = (await readAll(cluster.store, ids))
    .filter((r) => r.status === "proving" && r.prover === victim.name)
    .map((r) => r.id);
  assert.ok(orphaned.length > 0, "the victim died holding records");

  const records = await waitAllFinal(cluster.store, ids);
  assertAllProved(records);
  const byId = new Map(records.map((r) => [r.id, r]));
  for (const id of orphaned) {
    const r = byId.get(id)!;
    assert.equal(r.prover, survivor.name, `${id}, claimed by the victim, was finished by the survivor`);
    assert.equal(r.attempts, 2, `${id} was claimed by the victim, then by the survivor`);
  }
  for (const r of records) {
    assert.ok(r.prover === victim.name || r.prover === survivor.name, `${r.id} was proved by ${r.prover}`);
    if (!orphaned.includes(r.id)) assert.equal(r.attempts, 1, `${r.id} was claimed once`);
  }
  assert.ok(survivor.alive, "the survivor is still running");
  assert.deepEqual(await survivor.stop("SIGTERM"), { code: 0, signal: null });
});

test("postgres: Redis losing every key mid-run (FLUSHALL) loses no record; the sweep re-enqueues them from the store", {
  skip,
  timeout: 2 * PATIENCE_MS,
}, async () => {
  const cluster = await suite.open();
  const workers = await cluster.startWorkers([{ name: "worker-a" }, { name: "worker-b" }]);
  const ids = await cluster.schedule(suite.work, 30);

  await untilRecords(
    cluster.store,
    ids,
    (records) => records.filter((r) => r.status === "proved").length >= 8,
    "progress before the flush",
  );
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  try {
    if (FLUSHALL) assert.equal(await redis.flushall(), "OK");
    else
      assert.ok(
        Number(await redis.eval(DELETE_MATCHING, 0, `${cluster.env.PROOFGATE_QUEUE_PREFIX}:*`)) > 0,
        "the queue had keys",
      );
  } finally {
    redis.disconnect();
  }
  const atFlush = countByStatus(await readAll(cluster.store, ids));
  assert.ok((atFlush.queued ?? 0) > 0, `records were still waiting when Redis was flushed: ${JSON.stringify(atFlush)}`);

  const records = await waitAllFinal(cluster.store, ids);
  assertAllProved(records);
  for (const r of records)
    assert.ok(
      workers.some((w) => w.name === r.prover),
      `${r.id} was proved by ${r.prover}`,
    );
  for (const w of workers) {
    assert.ok(w.alive, `${w.name} survived the flush`);
    assert.deepEqual(await w.stop("SIGTERM"), { code: 0, signal: null }, `${w.name} stops cleanly`);
  }
});
