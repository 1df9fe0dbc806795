import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { pino } from "pino";
import { startGateway } from "../../src/api/start-gateway.js";
import { postJson, startTestGateway, testConfig, type TestGateway } from "./gateway-fixture.js";
import { until } from "../fixtures/until.js";

describe("health, metrics, openapi, request ids", () => {
  let gw: TestGateway;
  before(async () => {
    gw = await startTestGateway();
  });
  after(() => gw.close());

  const metric = async (line: RegExp): Promise<number | null> => {
    const text = await (await fetch(`${gw.url}/metrics`)).text();
    const found = text.split("\n").find((l) => line.test(l));
    return found === undefined ? null : Number(found.split(" ").at(-1));
  };

  it("/health reports ok, the device and the models", async () => {
    const res = await fetch(`${gw.url}/health`);
    assert.equal(res.status, 200);
    const body = (await res.json()) as { status: string; device: string; models: { id: string }[] };
    assert.equal(body.status, "ok");
    assert.equal(body.device, "cpu");
    assert.deepEqual(body.models.map((m) => m.id).sort(), ["pg-spam", "pg-student", "pg-teacher"]);
  });

  it("returns a request id header, keeping a client's own", async () => {
    const res = await fetch(`${gw.url}/v1/models`);
    assert.match(res.headers.get("x-request-id")!, /^[0-9a-f-]{36}$/);
    const mine = await fetch(`${gw.url}/v1/models`, { headers: { "x-request-id": "trace-123" } });
    assert.equal(mine.headers.get("x-request-id"), "trace-123");
  });

  it("/metrics counts requests by route and status, tokens, and batch sizes", async () => {
    const before =
      (await metric(/^proofgate_http_requests_total\{method="POST",route="\/v1\/completions",status="200"\}/)) ?? 0;
    const tokensBefore = (await metric(/^proofgate_tokens_generated_total\{model="pg-student"\}/)) ?? 0;
    const res = await postJson(`${gw.url}/v1/completions`, {
      model: "pg-student",
      prompt: "The",
      max_tokens: 3,
      n: 2,
      temperature: 0,
    });
    const usage = ((await res.json()) as { usage: { completion_tokens: number } }).usage;
    assert.equal(
      await metric(/^proofgate_http_requests_total\{method="POST",route="\/v1\/completions",status="200"\}/),
      before + 1,
    );
    assert.equal(
      await metric(/^proofgate_tokens_generated_total\{model="pg-student"\}/),
      tokensBefore + usage.completion_tokens,
    );
    assert.ok(((await metric(/^proofgate_batch_size_count\{model="pg-student"\}/)) ?? 0) > 0);
    assert.ok(
      (await metric(/^proofgate_http_request_duration_seconds_count\{method="POST",route="\/v1\/completions"\}/))! >= 1,
    );
  });

  it("a client that disconnects mid-stream frees its batch slot", async () => {
    const controller = new AbortController();
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        model: "pg-student",
        messages: [{ role: "user", content: "Go on" }],
        max_tokens: 4096,
        stream: true,
      }),
      signal: controller.signal,
    });
    const reader = res.body!.getReader();
    await reader.read();
    await reader.read();
    assert.equal(await metric(/^proofgate_active_generations\{model="pg-student"\}/), 1);
    controller.abort();
    await until(
      () => metric(/^proofgate_active_generations\{model="pg-student"\}/),
      (n) => n === 0,
      { what: "no active generation after the abort" },
    );
  });

  it("/openapi.json is OpenAPI 3.1 covering every route, with the request schemas", async () => {
    const doc = (await (await fetch(`${gw.url}/openapi.json`)).json()) as {
      openapi: string;
      info: { version: string };
      paths: Record<string, Record<string, any>>;
      components: { schemas: Record<string, any> };
    };
    assert.equal(doc.openapi, "3.1.0");
    assert.equal(
      doc.info.version,
      (JSON.parse(readFileSync("package.json", "utf8")) as { version: string }).version,
      "the version is package.json's",
    );
    const routes = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`),
    );
    for (const r of [
      "GET /health",
      "GET /metrics",
      "GET /openapi.json",
      "GET /v1/models",
      "GET /v1/models/{id}",
      "POST /v1/chat/completions",
      "POST /v1/completions",
      "POST /v1/inferences",
    ]) {
      assert.ok(routes.includes(r), `${r} missing from ${routes.join(", ")}`);
    }
    const chat = doc.components.schemas.ChatCompletionRequest;
    assert.ok(chat.properties.messages && chat.properties.top_logprobs.anyOf[0].maximum === 20);
    assert.equal(chat.additionalProperties, undefined, "requests accept unknown fields");
    assert.ok(doc.components.schemas.ErrorEnvelope);
  });
});

describe("request logs", () => {
  it("name credential headers without their values", async () => {
    const lines: string[] = [];
    const logger = pino({ level: "info" }, { write: (line: string) => void lines.push(line) });
    const gateway = await startGateway({ config: testConfig({ apiKeys: ["sk-very-secret-key"] }), logger });
    try {
      await gateway.loaded;
      const attempts: Record<string, string>[] = [
        { authorization: "Bearer sk-very-secret-key" },
        { authorization: "Bearer sk-wrong-guess", "x-api-key": "sk-other" },
      ];
      for (const headers of attempts) {
        await fetch(`${gateway.url}/v1/models`, { headers });
      }
      const requests = lines.filter((l) => l.includes('"req"'));
      assert.ok(requests.length >= 2, "both requests were logged");
      assert.ok(requests.every((l) => l.includes('"authorization":"[redacted]"')));
      for (const secret of ["sk-very-secret-key", "sk-wrong-guess", "sk-other"])
        assert.ok(!lines.some((l) => l.includes(secret)), `${secret} reached the log`);
    } finally {
      await gateway.close();
    }
  });
});
