import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import OpenAI from "openai";
import { pino } from "pino";
import request from "supertest";
import { buildApp } from "../../src/api/app.js";
import { MAX_ERROR_MESSAGE_CHARS } from "../../src/api/error-envelope.js";
import { MAX_RATE_WINDOWS, RequestRateLimiter } from "../../src/api/rate-limit.js";
import type { ProofgateError } from "../../src/core/errors.js";
import { GatewayMetrics } from "../../src/api/metrics/gateway-metrics.js";
import { ModelRegistry } from "../../src/model/model-registry.js";
import { postJson, startTestGateway, testConfig, TEST_MODELS_DIR, type TestGateway } from "./gateway-fixture.js";
import { until } from "../fixtures/until.js";

const CHAT = { model: "pg-student", messages: [{ role: "user", content: "Hello" }], max_tokens: 2 };

async function expectError(
  res: Response,
  status: number,
  code: string,
  param: string | null,
  type = "invalid_request_error",
): Promise<void> {
  const body = (await res.json()) as { error: { message: string; type: string; param: string | null; code: string } };
  assert.equal(res.status, status, JSON.stringify(body));
  assert.equal(body.error.code, code);
  assert.equal(body.error.type, type);
  assert.equal(body.error.param, param);
  assert.ok(body.error.message.length > 0);
}

describe("error envelope", () => {
  let gw: TestGateway;
  before(async () => {
    gw = await startTestGateway({ bodyLimitBytes: 4096, maxBatchSize: 1, maxWaiting: 0 });
  });
  after(() => gw.close());
  const chat = (body: unknown) => postJson(`${gw.url}/v1/chat/completions`, body);

  it("400 invalid_json for a body that is not JSON", async () => {
    await expectError(await chat("{not json"), 400, "invalid_json", null);
  });

  it("400 naming the bad param", async () => {
    await expectError(await chat({ ...CHAT, temperature: 5 }), 400, "invalid_argument", "temperature");
    await expectError(
      await chat({ ...CHAT, messages: [{ role: "captain", content: "x" }] }),
      400,
      "invalid_argument",
      "messages[0].role",
    );
    await expectError(await chat({ ...CHAT, messages: [] }), 400, "invalid_argument", "messages");
    await expectError(
      await chat({ ...CHAT, logprobs: true, top_logprobs: 21 }),
      400,
      "invalid_argument",
      "top_logprobs",
    );
    await expectError(await chat({ ...CHAT, max_tokens: 1_000_000 }), 400, "invalid_argument", "max_tokens");
    await expectError(await chat({ ...CHAT, n: 0 }), 400, "invalid_argument", "n");
    await expectError(await chat({ ...CHAT, stop: 3 }), 400, "invalid_argument", "stop");
    await expectError(
      await postJson(`${gw.url}/v1/completions`, { model: "pg-student", prompt: "x", logprobs: 21 }),
      400,
      "invalid_argument",
      "logprobs",
    );
    await expectError(
      await postJson(`${gw.url}/v1/completions`, { model: "pg-student", prompt: [1, 99999] }),
      400,
      "invalid_argument",
      "prompt[1]",
    );
  });

  it("400 unsupported_model when the model cannot do the endpoint", async () => {
    await expectError(await chat({ ...CHAT, model: "pg-spam" }), 400, "unsupported_model", "model");
  });

  it("404 model_not_found, also through the OpenAI client", async () => {
    await expectError(await chat({ ...CHAT, model: "no-such-model" }), 404, "model_not_found", "model");
    await expectError(await fetch(`${gw.url}/v1/models/no-such-model`), 404, "model_not_found", "id");
    await assert.rejects(
      gw.client.chat.completions.create({ model: "nope", messages: [{ role: "user", content: "x" }] }),
      (err) => {
        assert.ok(err instanceof OpenAI.NotFoundError);
        assert.equal(err.code, "model_not_found");
        return true;
      },
    );
    await expectError(await fetch(`${gw.url}/v1/nothing-here`), 404, "not_found", null);
  });

  it("413 payload_too_large", async () => {
    await expectError(
      await chat({ ...CHAT, messages: [{ role: "user", content: "x".repeat(10_000) }] }),
      413,
      "payload_too_large",
      null,
    );
  });

  it("4xx, not 5xx, for malformed input below the handlers", async () => {
    await expectError(await fetch(`${gw.url}/v1/models/%zz`), 400, "invalid_argument", null);
    await expectError(await fetch(`${gw.url}/v1/models/%E0%A4%A`), 400, "invalid_argument", null);
    for (const encoding of ["gzip", "deflate"]) {
      const res = await fetch(`${gw.url}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json", "content-encoding": encoding },
        body: "{}",
      });
      await expectError(res, 400, "invalid_argument", null);
    }
    const topZero = await chat({ ...CHAT, logprobs: true, top_logprobs: 0 });
    assert.equal(topZero.status, 200);
    const body = (await topZero.json()) as { choices: { logprobs: { content: { top_logprobs: unknown[] }[] } }[] };
    assert.ok(body.choices[0]!.logprobs.content.every((t) => t.top_logprobs.length === 0));
  });

  it("400 for more prompt text than is read, on every endpoint that tokenizes", async () => {
    const small = await startTestGateway({ maxPromptChars: 100 });
    try {
      const long = "x".repeat(101);
      await expectError(
        await postJson(`${small.url}/v1/chat/completions`, {
          ...CHAT,
          messages: [
            { role: "user", content: long.slice(0, 60) },
            { role: "user", content: long.slice(60) },
          ],
        }),
        400,
        "invalid_argument",
        "messages",
      );
      await expectError(
        await postJson(`${small.url}/v1/completions`, {
          model: "pg-student",
          prompt: [long.slice(0, 50), long.slice(50)],
          max_tokens: 1,
        }),
        400,
        "invalid_argument",
        "prompt",
      );
      await expectError(
        await postJson(`${small.url}/v1/inferences`, { model: "pg-spam", input: long }),
        400,
        "invalid_argument",
        "input",
      );
      assert.equal(
        (await postJson(`${small.url}/v1/completions`, { model: "pg-student", prompt: "x".repeat(100), max_tokens: 1 }))
          .status,
        200,
      );
    } finally {
      await small.close();
    }
  });

  it("an error never echoes a long input whole", async () => {
    const res = await chat({ ...CHAT, model: "m".repeat(200_000) });
    const text = await res.text();
    assert.equal(res.status, 413); // the body limit of this gateway comes first
    assert.ok(text.length < 1_000);
    const unknown = await fetch(`${gw.url}/v1/models/${"m".repeat(3_000)}`);
    const envelope = (await unknown.json()) as { error: { message: string } };
    assert.equal(unknown.status, 404);
    assert.ok(envelope.error.message.length <= MAX_ERROR_MESSAGE_CHARS, envelope.error.message);
  });

  it("431 in the envelope for headers over Node's limit", async () => {
    const res = await fetch(`${gw.url}/v1/models`, { headers: { "x-filler": "f".repeat(20_000) } });
    await expectError(res, 431, "headers_too_large", null);
    assert.equal((await fetch(`${gw.url}/health`)).status, 200);
  });

  it("429 overloaded with retry-after when every batch slot is taken", async () => {
    const controller = new AbortController();
    const holding = await fetch(`${gw.url}/v1/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "pg-student", prompt: "x", max_tokens: 4096, stream: true }),
      signal: controller.signal,
    });
    const reader = holding.body!.getReader();
    await reader.read();
    const res = await chat(CHAT);
    assert.ok(Number(res.headers.get("retry-after")) >= 1);
    await expectError(res, 429, "overloaded", null, "rate_limit_error");
    const streamed = await chat({ ...CHAT, stream: true });
    assert.match(streamed.headers.get("content-type")!, /application\/json/);
    await expectError(streamed, 429, "overloaded", null, "rate_limit_error");
    controller.abort();
  });
});

describe("API keys and rate limits", () => {
  let gw: TestGateway;
  before(async () => {
    gw = await startTestGateway({ apiKeys: ["key-one", "key-two"], rateLimitPerMinute: 3 }, "key-one");
  });
  after(() => gw.close());

  it("401 without a valid bearer key; open endpoints stay open", async () => {
    await expectError(
      await postJson(`${gw.url}/v1/chat/completions`, CHAT),
      401,
      "unauthorized",
      null,
      "authentication_error",
    );
    await expectError(
      await postJson(`${gw.url}/v1/chat/completions`, CHAT, { authorization: "Bearer wrong" }),
      401,
      "unauthorized",
      null,
      "authentication_error",
    );
    const ok = await gw.client.chat.completions.create({
      model: "pg-student",
      messages: [{ role: "user", content: "Hi" }],
      max_tokens: 2,
    });
    assert.equal(ok.object, "chat.completion");
    assert.equal((await fetch(`${gw.url}/health`)).status, 200);
  });

  it("429 rate_limited per key with retry-after", async () => {
    const headers = { authorization: "Bearer key-two" };
    for (let i = 0; i < 3; i++) assert.equal((await fetch(`${gw.url}/v1/models`, { headers })).status, 200);
    const res = await fetch(`${gw.url}/v1/models`, { headers });
    const retryAfter = Number(res.headers.get("retry-after"));
    assert.ok(retryAfter >= 1 && retryAfter <= 60);
    await expectError(res, 429, "rate_limited", null, "rate_limit_error");
  });
});

describe("rate limits without API keys", () => {
  let gw: TestGateway;
  before(async () => {
    gw = await startTestGateway({ rateLimitPerMinute: 3 });
  });
  after(() => gw.close());

  it("count per client address: a fresh random bearer token per request gets no fresh window", async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++)
      statuses.push(
        (await fetch(`${gw.url}/v1/models`, { headers: { authorization: `Bearer random-${i}-${Math.random()}` } }))
          .status,
      );
    assert.deepEqual(statuses, [200, 200, 200, 429, 429]);
  });

  it("keep at most MAX_RATE_WINDOWS clients in memory, dropping the oldest first", () => {
    let t = 0;
    const limiter = new RequestRateLimiter(1, { now: () => t });
    const call = (address: string): number => {
      let status = 200;
      const res = { setHeader: () => undefined };
      try {
        limiter.middleware({ headers: {}, socket: { remoteAddress: address } } as never, res as never, () => undefined);
      } catch (err) {
        status = (err as ProofgateError).status;
      }
      return status;
    };
    for (let i = 0; i < MAX_RATE_WINDOWS + 1_000; i++) {
      t = i / 1_000; // all within one minute
      call(`10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`);
    }
    assert.equal(limiter.clients, MAX_RATE_WINDOWS);
    assert.equal(call(`10.0.0.0`), 200, "the oldest window was dropped");
    assert.equal(call(`10.0.0.0`), 429);
  });
});

describe("sequences per client", () => {
  let gw: TestGateway;
  before(async () => {
    gw = await startTestGateway({ maxSequencesPerClient: 4 });
  });
  after(() => gw.close());

  it("one client cannot take more than its share of batch slots; they come back when its answer ends", async () => {
    await expectError(
      await postJson(`${gw.url}/v1/completions`, { model: "pg-student", prompt: ["a", "b", "c"], n: 2, max_tokens: 1 }),
      429,
      "overloaded",
      null,
      "rate_limit_error",
    );
    const controller = new AbortController();
    const holding = await fetch(`${gw.url}/v1/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "pg-student", prompt: "x", n: 3, max_tokens: 4096, stream: true }),
      signal: controller.signal,
    });
    await holding.body!.getReader().read();
    const second = await postJson(`${gw.url}/v1/completions`, {
      model: "pg-student",
      prompt: "y",
      n: 2,
      max_tokens: 1,
    });
    assert.ok(Number(second.headers.get("retry-after")) >= 1);
    await expectError(second, 429, "overloaded", null, "rate_limit_error");
    assert.equal(
      (await postJson(`${gw.url}/v1/completions`, { model: "pg-student", prompt: "y", n: 1, max_tokens: 1 })).status,
      200,
    );
    controller.abort();
    const status = await until(
      async () =>
        (await postJson(`${gw.url}/v1/completions`, { model: "pg-student", prompt: "y", n: 4, max_tokens: 1 })).status,
      (s) => s !== 429,
      { what: "the aborted stream's slots to come free", everyMs: 10 },
    );
    assert.equal(status, 200);
  });
});

describe("before the models are loaded", () => {
  it("/health and /v1 answer 503 not_ready", async () => {
    const config = testConfig();
    const metrics = new GatewayMetrics();
    const registry = new ModelRegistry({
      roots: [TEST_MODELS_DIR],
      dirs: [],
      device: "cpu",
      maxBatchSize: 4,
      maxWaiting: 4,
    });
    const app = buildApp({ config, registry, metrics, logger: pino({ level: "silent" }), version: "test" });
    for (const path of ["/health", "/v1/models"]) {
      const res = await request(app).get(path);
      assert.equal(res.status, 503);
      assert.deepEqual(
        { type: res.body.error.type, code: res.body.error.code, param: res.body.error.param },
        { type: "server_error", code: "not_ready", param: null },
      );
    }
  });
});
