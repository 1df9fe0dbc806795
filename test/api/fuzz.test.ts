/**
 * The API fuzzed from its own /openapi.json (test/fixtures/api-fuzz.ts): 2,000 seeded cases over every
 * route on the default store (SQLite), and 500 on PostgreSQL, whose text columns refuse NUL bytes.
 * No case may get a 5xx or a non-envelope error on /v1; afterwards the gateway still answers and its
 * heap has not grown with what it was sent. More cases: `node --import tsx bench/fuzz.ts`.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { runApiFuzz, type FuzzReport } from "../fixtures/api-fuzz.js";
import { DATABASE_URL, dropSchema, postgresUnreachable } from "../workers/prover-cluster.fixture.js";
import { startProvingTestGateway, type ProvingTestGateway } from "./gateway-fixture.js";

function describeFailures(report: FuzzReport): string {
  return report.failures
    .slice(0, 5)
    .map(
      (f) =>
        `${f.status} ${f.why}: ${f.case.method} ${f.case.url.slice(0, 200)} ${(f.case.body ?? "").slice(0, 200)} → ${f.answer}`,
    )
    .join("\n");
}

describe("API fuzz (SQLite store)", () => {
  let gw: ProvingTestGateway;
  before(async () => {
    gw = await startProvingTestGateway({ provers: 0 });
  });
  after(() => gw.close());

  it("2,000 cases: no 5xx, every /v1 error in the envelope, the server alive, the heap flat", async () => {
    await runApiFuzz(gw.url, 200, 1000); // warm up: models, caches and JIT settle first
    global.gc?.();
    const heapBefore = process.memoryUsage().heapUsed;
    const report = await runApiFuzz(gw.url, 2_000, 1);
    assert.equal(report.failures.length, 0, describeFailures(report));
    assert.ok(
      (report.byStatus[200] ?? 0) > 200 && (report.byStatus[400] ?? 0) > 200,
      `a fuzzer that reaches both valid and invalid requests: ${JSON.stringify(report.byStatus)}`,
    );
    assert.equal((await fetch(`${gw.url}/health`)).status, 200);
    global.gc?.();
    const grown = process.memoryUsage().heapUsed - heapBefore;
    assert.ok(grown < 150 * 2 ** 20, `heap grew by ${Math.round(grown / 2 ** 20)} MB`);
  });
});

const noPostgres = await postgresUnreachable();

describe("API fuzz (PostgreSQL store)", { skip: noPostgres }, () => {
  let gw: ProvingTestGateway;
  const schema = `proofgate_fuzz_${process.pid}`;
  before(async () => {
    gw = await startProvingTestGateway({ provers: 0, databaseUrl: DATABASE_URL, databaseSchema: schema });
  });
  after(async () => {
    await gw.close();
    await dropSchema(schema);
  });

  it("500 cases, NUL bytes in ids and filters included: no 5xx", async () => {
    const report = await runApiFuzz(gw.url, 500, 2);
    assert.equal(report.failures.length, 0, describeFailures(report));
    for (const path of [
      "/v1/proofs/a%00b",
      "/v1/proofs?model=pg-spam%00",
      "/v1/proofs?after=x%00y",
      "/v1/proofs?q=%00",
    ]) {
      const res = await fetch(`${gw.url}${path}`);
      assert.ok(res.status < 500, `${path} → ${res.status}`);
    }
  });
});
