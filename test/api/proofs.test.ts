import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import express, { type ErrorRequestHandler } from "express";
import request from "supertest";
import { errorEnvelope, toProofgateError } from "../../src/api/error-envelope.js";
import { attachProofsRouter } from "../../src/api/proofs/router.js";
import { ProofsService } from "../../src/api/proofs/service.js";
import { newProofRecord, type ProofRecord } from "../../src/core/proof-record.js";
import { CompiledCatalog } from "../../src/prover/compiled-catalog.js";
import { MemoryProofStore } from "../../src/store/proof-store-memory.js";
import { until } from "../fixtures/until.js";

const SPAM_DIR = "artifacts/models/pg-spam";
const SPAM_CIRCUIT = (JSON.parse(readFileSync(`${SPAM_DIR}/circuit.json`, "utf8")) as { model_id: string }).model_id;

function buildTestApp(service: ProofsService): express.Express {
  const app = express();
  app.use(express.json());
  const router = express.Router();
  attachProofsRouter(router, service);
  app.use(router);
  // as src/api/app.ts's sendError
  const sendError: ErrorRequestHandler = (err, _req, res, _next) => {
    const error = toProofgateError(err);
    if (res.headersSent) return void res.end();
    res.status(error.status).json(errorEnvelope(error));
  };
  app.use(sendError);
  return app;
}

function expectError(res: request.Response, status: number, code: string, param: string | null): void {
  assert.equal(res.status, status, JSON.stringify(res.body));
  assert.equal(res.body.error.code, code);
  assert.equal(res.body.error.param, param);
  assert.equal(res.body.error.type, "invalid_request_error");
  assert.ok(res.body.error.message.length > 0);
}

/** `store` with its reads of each record counted: how a test sees the service polling, or not. */
function countingReads(store: MemoryProofStore): { store: MemoryProofStore; reads: (id: string) => number } {
  const counts = new Map<string, number>();
  const counting = Object.create(store, {
    get: {
      value: (id: string) => {
        counts.set(id, (counts.get(id) ?? 0) + 1);
        return store.get(id);
      },
    },
  }) as MemoryProofStore;
  return { store: counting, reads: (id) => counts.get(id) ?? 0 };
}

describe("/v1/proofs", () => {
  let store: MemoryProofStore;
  let reads: (id: string) => number;
  let app: express.Express;
  const created: ProofRecord[] = [];

  const add = async (
    id: string,
    model: string,
    createdAt: number,
    circuit: unknown = SPAM_CIRCUIT,
  ): Promise<ProofRecord> => {
    const record = await store.create(
      newProofRecord({ id, model, created: createdAt, request: { kind: "inference", circuit, nonce: "7" } }),
    );
    created.push(record);
    return record;
  };

  before(async () => {
    store = new MemoryProofStore();
    const counted = countingReads(store);
    reads = counted.reads;
    const catalog = await CompiledCatalog.open({ roots: ["artifacts/models"], dirs: [] });
    app = buildTestApp(new ProofsService({ store: counted.store, catalog, pollMs: 20 }));
    // five records, newest first by created: p5 … p1; p2 and p4 belong to another model
    for (let i = 1; i <= 5; i++) await add(`proof-p${i}`, i % 2 === 0 ? "pg-student" : "pg-spam", 1_700_000_000 + i);
    await store.transition("proof-p1", "queued", "proving");
    await store.transition("proof-p1", "proving", "proved", {
      publicSignals: ["1", "2"],
      proof: { pi_a: ["1"] },
      prover: "w1",
      timings: { prove: 12 },
    });
  });
  after(() => store.close());

  it("lists newest first, pages with limit and after, says has_more", async () => {
    const first = await request(app).get("/v1/proofs?limit=2");
    assert.equal(first.status, 200);
    assert.equal(first.body.object, "list");
    assert.deepEqual(
      first.body.data.map((p: { id: string }) => p.id),
      ["proof-p5", "proof-p4"],
    );
    assert.equal(first.body.has_more, true);
    const second = await request(app).get("/v1/proofs").query({ limit: 2, after: "proof-p4" });
    assert.deepEqual(
      second.body.data.map((p: { id: string }) => p.id),
      ["proof-p3", "proof-p2"],
    );
    assert.equal(second.body.has_more, true);
    const last = await request(app).get("/v1/proofs").query({ limit: 2, after: "proof-p2" });
    assert.deepEqual(
      last.body.data.map((p: { id: string }) => p.id),
      ["proof-p1"],
    );
    assert.equal(last.body.has_more, false);
    const all = await request(app).get("/v1/proofs");
    assert.equal(all.body.data.length, 5);
    assert.equal(all.body.has_more, false);
  });

  it("filters by status and model", async () => {
    const proved = await request(app).get("/v1/proofs?status=proved");
    assert.deepEqual(
      proved.body.data.map((p: { id: string }) => p.id),
      ["proof-p1"],
    );
    const student = await request(app).get("/v1/proofs?model=pg-student");
    assert.deepEqual(
      student.body.data.map((p: { id: string }) => p.id),
      ["proof-p4", "proof-p2"],
    );
    const both = await request(app).get("/v1/proofs?model=pg-spam&status=queued");
    assert.deepEqual(
      both.body.data.map((p: { id: string }) => p.id),
      ["proof-p5", "proof-p3"],
    );
  });

  it("bad limit, status or cursor is a 400 naming the param", async () => {
    for (const limit of ["0", "101", "abc", "2.5", "-1", ""])
      expectError(await request(app).get(`/v1/proofs?limit=${limit}`), 400, "invalid_argument", "limit");
    expectError(await request(app).get("/v1/proofs?status=done"), 400, "invalid_argument", "status");
    expectError(await request(app).get("/v1/proofs?status=queued&status=proved"), 400, "invalid_argument", "status");
    expectError(await request(app).get("/v1/proofs?after=proof-nope"), 400, "invalid_argument", "after");
  });

  it("one record in wire shape", async () => {
    const res = await request(app).get("/v1/proofs/proof-p1");
    assert.equal(res.status, 200);
    const record = (await store.get("proof-p1"))!;
    assert.deepEqual(res.body, {
      id: "proof-p1",
      object: "proof",
      status: "proved",
      model: "pg-spam",
      created: record.created,
      request: { kind: "inference", circuit: SPAM_CIRCUIT, nonce: "7" },
      output: null,
      public_signals: ["1", "2"],
      proof: { pi_a: ["1"] },
      vkey_hash: null,
      steps: [],
      timings: { prove: 12 },
      chain: null,
      prover: "w1",
      error: null,
    });
  });

  it("unknown id is a 404 naming id", async () => {
    expectError(await request(app).get("/v1/proofs/proof-nope"), 404, "not_found", "id");
    expectError(await request(app).get("/v1/proofs/proof-nope?wait=1"), 404, "not_found", "id");
  });

  it("wait answers with the record once it is final", async () => {
    await add("proof-w1", "pg-spam", 1_600_000_000);
    const answer = request(app)
      .get("/v1/proofs/proof-w1?wait=60")
      .then((res) => res);
    // the record goes final only while the request is already waiting on it
    await until(
      () => reads("proof-w1"),
      (n) => n >= 2,
      { what: "the wait to poll proof-w1" },
    );
    await store.transition("proof-w1", "queued", "proving");
    await store.transition("proof-w1", "proving", "failed", { error: "witness failed" });
    const res = await answer;
    assert.equal(res.status, 200);
    assert.equal(res.body.status, "failed", "the answer is the final record, not the one the wait began with");
    assert.equal(res.body.error, "witness failed");
  });

  it("wait answers a final record at once", async () => {
    const before = reads("proof-p1");
    const res = await request(app).get("/v1/proofs/proof-p1?wait=60");
    assert.equal(res.body.status, "proved");
    assert.equal(reads("proof-p1") - before, 1, "read once, no polling");
  });

  it("wait returns the record as it is when the time is up", async () => {
    await add("proof-w2", "pg-spam", 1_600_000_001);
    await store.transition("proof-w2", "queued", "proving");
    const started = Date.now();
    const res = await request(app).get("/v1/proofs/proof-w2?wait=1");
    assert.equal(res.status, 200);
    assert.equal(res.body.status, "proving");
    // a lower bound only: a loaded machine answers later, never sooner
    assert.ok(Date.now() - started >= 950, "answered before the wait was up");
  });

  it("wait outside 0..60 or not a number is a 400 naming wait", async () => {
    for (const wait of ["61", "-1", "soon", ""])
      expectError(await request(app).get(`/v1/proofs/proof-p1?wait=${wait}`), 400, "invalid_argument", "wait");
    assert.equal((await request(app).get("/v1/proofs/proof-p1?wait=0.5")).status, 200);
  });

  it("a waiting request stops polling when the client goes away", async () => {
    await add("proof-w3", "pg-spam", 1_600_000_002);
    const counted = countingReads(store);
    const catalog = await CompiledCatalog.open({ roots: [], dirs: [] });
    const service = new ProofsService({ store: counted.store, catalog, pollMs: 20 });
    // the service's wait, and its reads when the request's signal told it the client left
    let waiting: Promise<unknown> | null = null;
    let readsAtAbort: number | null = null;
    const get = service.get.bind(service);
    service.get = (id, options = {}) => {
      options.signal?.addEventListener(
        "abort",
        () => {
          readsAtAbort = counted.reads(id);
        },
        { once: true },
      );
      const answer = get(id, options);
      waiting = answer;
      return answer;
    };
    const server = buildTestApp(service).listen(0);
    try {
      const { port } = server.address() as { port: number };
      const controller = new AbortController();
      const pending = fetch(`http://127.0.0.1:${port}/v1/proofs/proof-w3?wait=60`, { signal: controller.signal }).catch(
        () => null,
      );
      await until(
        () => counted.reads("proof-w3"),
        (n) => n >= 2,
        { what: "the wait to poll proof-w3" },
      );
      controller.abort();
      await pending;
      await until(() => waiting, Boolean, { what: "the service's wait" });
      await waiting;
      assert.notEqual(readsAtAbort, null, "the request's signal aborted when the client left");
      // one last read may finish after the abort; a wait that ignored it would poll for its whole minute
      assert.ok(
        counted.reads("proof-w3") - readsAtAbort! <= 1,
        `${counted.reads("proof-w3") - readsAtAbort!} reads after the client left`,
      );
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });

  it("verification_key is the circuit's verification_key.json", async () => {
    const res = await request(app).get("/v1/proofs/proof-p1/verification_key");
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.body, JSON.parse(readFileSync(`${SPAM_DIR}/verification_key.json`, "utf8")));
  });

  it("verification_key of an unknown circuit or proof is a 404", async () => {
    await add("proof-c1", "pg-spam", 1_600_000_003, "f".repeat(64));
    const res = await request(app).get("/v1/proofs/proof-c1/verification_key");
    expectError(res, 404, "not_found", "id");
    assert.match(res.body.error.message, /not available/);
    expectError(await request(app).get("/v1/proofs/proof-nope/verification_key"), 404, "not_found", "id");
  });
});
