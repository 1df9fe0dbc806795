import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { SetupTranscript } from "../../src/snark/setup-transcript.js";
import { startTestGateway, TEST_MODELS_DIR, type TestGateway } from "./gateway-fixture.js";

describe("GET /v1/models/{id}/setup", () => {
  let gw: TestGateway;
  before(async () => {
    gw = await startTestGateway();
  });
  after(() => gw.close());

  it("answers each shipped provable model's transcript as setup.json holds it: outside contributions and a final beacon, verified", async () => {
    for (const id of ["pg-spam", "pg-student"]) {
      const res = await fetch(`${gw.url}/v1/models/${id}/setup`);
      assert.equal(res.status, 200);
      const body = await res.json();
      assert.deepEqual(body, JSON.parse(await readFile(join(TEST_MODELS_DIR, id, "setup.json"), "utf8")));
      const transcript = SetupTranscript.parse(body);
      assert.equal(transcript.verified, true);
      assert.ok(transcript.phase2.contributions.length >= 3, id);
      assert.notEqual(transcript.phase2.beacon, null);
      const circuit = JSON.parse(await readFile(join(TEST_MODELS_DIR, id, "circuit.json"), "utf8"));
      assert.equal(transcript.vkey_hash, circuit.vkey_hash);
    }
  });

  it("404s in the error envelope for a model without a transcript, and for no model", async () => {
    const none = await fetch(`${gw.url}/v1/models/pg-teacher/setup`);
    assert.equal(none.status, 404);
    const body = (await none.json()) as { error: { code: string; param: string; message: string } };
    assert.equal(body.error.code, "not_found");
    assert.equal(body.error.param, "id");
    assert.match(body.error.message, /pg-teacher.*setup/);
    const missing = await fetch(`${gw.url}/v1/models/no-such-model/setup`);
    assert.equal(missing.status, 404);
    assert.equal(((await missing.json()) as { error: { code: string } }).error.code, "model_not_found");
    // the model route itself is unchanged
    assert.equal(((await (await fetch(`${gw.url}/v1/models/pg-spam`)).json()) as { id: string }).id, "pg-spam");
  });

  it("is documented in /openapi.json", async () => {
    const doc = (await (await fetch(`${gw.url}/openapi.json`)).json()) as {
      paths: Record<string, { get?: { responses: Record<string, unknown> } }>;
    };
    const route = doc.paths["/v1/models/{id}/setup"];
    assert.ok(route?.get, Object.keys(doc.paths).join(", "));
    assert.match(JSON.stringify(route.get.responses["200"]), /SetupTranscript/);
  });
});
