/** The aggregation behind GET /v1/stats, on hand-made records, and its paging through a real store. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import type { CircuitManifest } from "../../src/model/circuit-manifest.js";
import { newProofRecord, type ProofRecord, type ProofStatus, type ProofStep } from "../../src/core/proof-record.js";
import {
  StatsService,
  aggregateStats,
  proversOf,
  recordProveMs,
  type StatsModel,
} from "../../src/api/stats/service.js";
import { median } from "../../src/core/numbers.js";
import { MemoryProofStore } from "../../src/store/proof-store-memory.js";

const SPAM = JSON.parse(readFileSync("artifacts/models/pg-spam/circuit.json", "utf8")) as CircuitManifest;
const MODELS: StatsModel[] = [
  { id: "spam", provable: true, circuit: SPAM },
  { id: "chat", provable: true, circuit: null },
  { id: "idle", provable: false, circuit: null },
];

let n = 0;
function record(model: string, status: ProofStatus, fields: Partial<ProofRecord> = {}): ProofRecord {
  n++;
  return {
    ...newProofRecord({ id: `proof-${String(n).padStart(3, "0")}`, model, created: 1_700_000_000 + n, request: {} }),
    status,
    updatedAtMs: 0,
    ...fields,
  };
}

function step(index: number, prover: string | null, prove?: number): ProofStep {
  return {
    index,
    status: prove === undefined ? "queued" : "proved",
    publicSignals: null,
    proof: null,
    output: null,
    timings: prove === undefined ? {} : { prove },
    prover,
  };
}

describe("stats aggregation", () => {
  it("median: the middle value, the mean of the middle two, null for none", () => {
    assert.equal(median([]), null);
    assert.equal(median([5]), 5);
    assert.equal(median([9, 1, 5]), 5);
    assert.equal(median([4, 1, 3, 2]), 2.5);
  });

  it("a record's prove time: its own, else the sum of its steps' once every step has one", () => {
    assert.equal(recordProveMs(record("spam", "proved", { timings: { prove: 40 } })), 40);
    assert.equal(recordProveMs(record("spam", "queued")), null);
    assert.equal(
      recordProveMs(record("chat", "proved", { timings: { prove: 31 }, steps: [step(0, "a", 10), step(1, "b", 20)] })),
      31,
    );
    assert.equal(recordProveMs(record("chat", "proving", { steps: [step(0, "a", 10), step(1, "b", 20)] })), 30);
    assert.equal(recordProveMs(record("chat", "proving", { steps: [step(0, "a", 10), step(1, null)] })), null);
  });

  it("the workers a record names: its comma-joined prover and its steps', each once", () => {
    assert.deepEqual(
      proversOf(record("chat", "proved", { prover: "a,b", steps: [step(0, "a", 1), step(1, "b", 1)] })),
      ["a", "b"],
    );
    assert.deepEqual(proversOf(record("chat", "proving", { steps: [step(0, "c", 1), step(1, null)] })), ["c"]);
    assert.deepEqual(proversOf(record("spam", "queued")), []);
  });

  it("per model, per worker and latency", () => {
    const records = [
      record("spam", "proved", { prover: "a", timings: { prove: 100, total: 900 } }),
      record("spam", "verified", { prover: "b", timings: { prove: 300, total: 700 } }),
      record("spam", "failed", { prover: "a", error: "x" }),
      record("spam", "queued"),
      record("chat", "proved", {
        prover: "a,b",
        timings: { prove: 60, total: 2000 },
        steps: [step(0, "a", 10), step(1, "b", 20), step(2, "b", 30)],
      }),
      record("chat", "proving", { steps: [step(0, "c", 5), step(1, null)] }),
      record("chat", "generating"),
      record("gone", "failed", { error: "x" }),
    ];
    // the store answers newest first: the aggregation takes any order
    const stats = aggregateStats([...records].reverse(), MODELS, 50);
    assert.equal(stats.object, "stats");
    assert.equal(stats.window, 50);
    const zero = { total: 0, generating: 0, queued: 0, proving: 0, proved: 0, submitted: 0, verified: 0, failed: 0 };
    assert.deepEqual(stats.models, [
      {
        model: "spam",
        provable: true,
        circuit: {
          model_id: SPAM.model_id,
          vkey_hash: SPAM.vkey_hash,
          kind: "classify",
          constraints: SPAM.constraints,
          public_signals: SPAM.public_signals.map(({ name, meaning }) => ({ name, meaning })),
        },
        proofs: { ...zero, total: 4, queued: 1, proved: 1, verified: 1, failed: 1 },
        median_prove_ms: 200,
      },
      {
        model: "chat",
        provable: true,
        circuit: null,
        proofs: { ...zero, total: 3, proved: 1, proving: 1, generating: 1 },
        median_prove_ms: 60,
      },
      { model: "idle", provable: false, circuit: null, proofs: zero, median_prove_ms: null },
      {
        model: "gone",
        provable: false,
        circuit: null,
        proofs: { ...zero, total: 1, failed: 1 },
        median_prove_ms: null,
      },
    ]);
    assert.deepEqual(stats.workers, [
      // a: spam 100, its failed record (no time), chat step 10
      { prover: "a", proofs: 3, median_prove_ms: 55 },
      // b: spam 300, chat steps 20 and 30
      { prover: "b", proofs: 2, median_prove_ms: 30 },
      { prover: "c", proofs: 1, median_prove_ms: 5 },
    ]);
    assert.deepEqual(stats.latency, [
      { id: records[0]!.id, model: "spam", created: records[0]!.created, total_ms: 900 },
      { id: records[1]!.id, model: "spam", created: records[1]!.created, total_ms: 700 },
      { id: records[4]!.id, model: "chat", created: records[4]!.created, total_ms: 2000 },
    ]);
  });

  it("no records: every served model at zero, no workers, no latency", () => {
    const stats = aggregateStats([], MODELS, 1000);
    assert.deepEqual(
      stats.models.map((m) => [m.model, m.proofs.total, m.median_prove_ms]),
      [
        ["spam", 0, null],
        ["chat", 0, null],
        ["idle", 0, null],
      ],
    );
    assert.deepEqual([stats.workers, stats.latency], [[], []]);
  });

  it("the service pages through the newest `window` records of the store", async () => {
    const store = new MemoryProofStore();
    for (let i = 0; i < 250; i++)
      await store.create(record(i < 50 ? "chat" : "spam", "queued", { created: 1_700_000_000 + i }));
    const service = new StatsService({ store, models: { list: () => MODELS } });
    const totals = (stats: Awaited<ReturnType<StatsService["stats"]>>) =>
      stats.models.map((m) => [m.model, m.proofs.total]);
    // the newest 230: all 200 spam, and 30 of the 50 chat
    assert.deepEqual(totals(await service.stats(230)), [
      ["spam", 200],
      ["chat", 30],
      ["idle", 0],
    ]);
    assert.deepEqual(totals(await service.stats(100)), [
      ["spam", 100],
      ["chat", 0],
      ["idle", 0],
    ]);
    assert.deepEqual(totals(await service.stats()), [
      ["spam", 200],
      ["chat", 50],
      ["idle", 0],
    ]);
    assert.equal((await service.stats()).window, 1000);
    await store.close();
  });
});
