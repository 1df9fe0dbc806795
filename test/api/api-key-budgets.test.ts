/**
 * API keys with budgets of their own (PROOFGATE_API_KEYS_FILE), next to the plain keys of
 * PROOFGATE_API_KEYS that keep the server's limits: a lower step ceiling, requests per minute, sequences
 * at once and an hourly step-proof quota, each per key; a bad file stops start-up with one line.
 * No provers run: the records only have to exist.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import request from "supertest";
import type { Request, Response } from "express";
import { requireApiKey } from "../../src/api/api-keys.js";
import { ProofStepQuota } from "../../src/api/proof-quota.js";
import { startGateway } from "../../src/api/start-gateway.js";
import { isProofgateError } from "../../src/core/errors.js";
import { keySha256 } from "../../src/config/api-keys-file.js";
import { loadConfig } from "../../src/config/config.js";
import { startProvingTestGateway, testConfig, type ProvingTestGateway } from "./gateway-fixture.js";

const dir = mkdtempSync(join(tmpdir(), "proofgate-keys-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const keysFile = (name: string, content: unknown): string => {
  const path = join(dir, name);
  writeFileSync(path, typeof content === "string" ? content : JSON.stringify(content));
  return path;
};

const KEYS = {
  keys: [
    { name: "small", key: "sk-small-ceiling", max_proof_steps: 8 },
    { name: "limited", key: "sk-two-a-minute", requests_per_minute: 2 },
    { name: "quota", key: "sk-hourly-quota", proof_steps_per_hour: 20 },
    { name: "hashed", key_sha256: keySha256("sk-only-its-hash"), max_sequences: 2 },
  ],
};
const PLAIN = "sk-plain-default";

const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
const chat = (max_tokens: number, extra: Record<string, unknown> = {}) => ({
  model: "pg-student",
  messages: [{ role: "user", content: "Tell me about the whale" }],
  max_tokens,
  ...extra,
});

describe("API keys with budgets of their own", () => {
  let gw: ProvingTestGateway;
  before(async () => {
    const { apiKeys, namedApiKeys } = loadConfig({
      PROOFGATE_API_KEYS: PLAIN,
      PROOFGATE_API_KEYS_FILE: keysFile("keys.json", KEYS),
    });
    gw = await startProvingTestGateway({ provers: 0, apiKeys, namedApiKeys, maxProofSteps: 64 });
  });
  after(() => gw.close());

  const post = (key: string, body: unknown) =>
    request(gw.url)
      .post("/v1/chat/completions")
      .set(bearer(key))
      .send(body as object);

  it("a key with a lower step ceiling gets the 400 the plain key does not", async () => {
    assert.equal((await post(PLAIN, chat(16))).status, 200);
    const refused = await post("sk-small-ceiling", chat(16));
    assert.equal(refused.status, 400, JSON.stringify(refused.body));
    assert.equal(refused.body.error.code, "invalid_argument");
    assert.equal(refused.body.error.param, "max_tokens");
    assert.match(refused.body.error.message, /16 step proofs; at most 8 per request with this API key/);
    assert.equal((await post("sk-small-ceiling", chat(8))).status, 200);
    assert.equal((await post("sk-small-ceiling", chat(16, { proof: false }))).status, 200);
    // a key given by its hash only is let in
    assert.equal((await post("sk-only-its-hash", chat(2))).status, 200);
  });

  it("requests_per_minute counts per key; the plain key has the server's (none here)", async () => {
    const models = (key: string) => request(gw.url).get("/v1/models").set(bearer(key));
    assert.equal((await models("sk-two-a-minute")).status, 200);
    assert.equal((await models("sk-two-a-minute")).status, 200);
    const refused = await models("sk-two-a-minute");
    assert.equal(refused.status, 429);
    assert.equal(refused.body.error.code, "rate_limited");
    assert.match(refused.body.error.message, /2 requests per minute/);
    const retryAfter = Number(refused.headers["retry-after"]);
    assert.ok(retryAfter >= 1 && retryAfter <= 60, `retry-after ${retryAfter}`);
    for (let i = 0; i < 4; i++) assert.equal((await models(PLAIN)).status, 200);
  });

  it("max_sequences per key", async () => {
    const refused = await post("sk-only-its-hash", chat(2, { n: 3 }));
    assert.equal(refused.status, 429);
    assert.equal(refused.body.error.code, "overloaded");
    assert.match(refused.body.error.message, /at most 2 at once \(this request asks for 3\)/);
    assert.equal((await post(PLAIN, chat(2, { n: 3 }))).status, 200);
  });

  it("the hourly step quota: charged at each request's ceiling; spent → 429 insufficient_quota with retry-after; other keys unaffected", async () => {
    assert.equal((await post("sk-hourly-quota", chat(8))).status, 200);
    assert.equal((await post("sk-hourly-quota", chat(8))).status, 200);
    const spent = await post("sk-hourly-quota", chat(8));
    assert.equal(spent.status, 429, JSON.stringify(spent.body));
    assert.deepEqual([spent.body.error.code, spent.body.error.type], ["insufficient_quota", "insufficient_quota"]);
    assert.match(spent.body.error.message, /16 of 20 step proofs in the last hour, and this request may cost 8/);
    const retryAfter = Number(spent.headers["retry-after"]);
    assert.ok(retryAfter > 60 && retryAfter <= 3600, `retry-after ${retryAfter}`);
    assert.equal(spent.headers["x-proof-id"], undefined);
    // what still fits is served, unproven answers cost nothing, and the other keys keep their own budgets
    assert.equal((await post("sk-hourly-quota", chat(4))).status, 200);
    assert.equal((await post("sk-hourly-quota", chat(1))).status, 429);
    assert.equal((await post("sk-hourly-quota", chat(8, { proof: false }))).status, 200);
    assert.equal((await post(PLAIN, chat(32))).status, 200);
    assert.equal((await post("sk-small-ceiling", chat(8))).status, 200);
    const metrics = await (await fetch(`${gw.url}/metrics`)).text();
    assert.match(metrics, /limit="proof_quota"[^\n]* 2$/m);
  });
});

describe("the hourly step quota", () => {
  it("is a rolling hour: a charge expires an hour after it was made, and retry-after says when enough have", () => {
    let t = 0;
    const quota = new ProofStepQuota({ now: () => t });
    const req = { headers: bearer("sk-q") } as unknown as Request;
    requireApiKey([{ name: "q", sha256: keySha256("sk-q"), limits: { proofStepsPerHour: 20 } }])(
      req,
      {} as Response,
      () => undefined,
    );
    const headers: Record<string, string> = {};
    const res = {
      setHeader: (name: string, value: string) => {
        headers[name] = value;
      },
    } as unknown as Response;
    const minute = 60_000;
    quota.charge(req, res, 8);
    t = 10 * minute;
    quota.charge(req, res, 8);
    t = 20 * minute;
    assert.throws(
      () => quota.charge(req, res, 8),
      (err) => isProofgateError(err, "insufficient_quota"),
    );
    // the first 8 expire at minute 60, and then 8 + 8 fit
    assert.equal(headers["retry-after"], String(40 * 60));
    quota.charge(req, res, 4);
    t = 60 * minute - 1;
    assert.throws(
      () => quota.charge(req, res, 8),
      (err) => isProofgateError(err, "insufficient_quota"),
    );
    t = 60 * minute;
    quota.charge(req, res, 8);
    assert.throws(
      () => quota.charge(req, res, 21),
      (err) => isProofgateError(err, "invalid_argument"),
    );
  });
});

describe("a keys file", () => {
  it("logs the name of a request's key, never the key", async () => {
    const lines: string[] = [];
    const logger = pino({ level: "info" }, { write: (line: string) => void lines.push(line) });
    const { namedApiKeys } = loadConfig({ PROOFGATE_API_KEYS_FILE: keysFile("log.json", KEYS) });
    const gateway = await startGateway({ config: testConfig({ namedApiKeys }), logger });
    try {
      await gateway.loaded;
      assert.equal((await request(gateway.url).get("/v1/models").set(bearer("sk-small-ceiling"))).status, 200);
      assert.ok(
        lines.some((l) => l.includes('"api_key":"small"')),
        "the request's line names its key",
      );
      assert.ok(!lines.some((l) => l.includes("sk-small-ceiling")), "the key reached the log");
    } finally {
      await gateway.close();
    }
  });

  it("that is bad is refused by name and place, in one line", () => {
    const bad: [unknown, RegExp][] = [
      ["{ not json", /not JSON/],
      [{ keys: [{ name: "a", key: "k1", max_proof_step: 8 }] }, /keys\[0\]: Unrecognized key: "max_proof_step"/],
      [
        { keys: [{ name: "a", key: "k1", key_sha256: keySha256("k1") }] },
        /keys\[0\]: needs exactly one of key and key_sha256/,
      ],
      [{ keys: [{ name: "a", key: "k1", proof_steps_per_hour: 0 }] }, /keys\[0\]\.proof_steps_per_hour: /],
      [{ keys: [{ name: "a b", key: "k1" }] }, /keys\[0\]\.name: must be 1–64 letters/],
      [
        {
          keys: [
            { name: "a", key: "k1" },
            { name: "b", key: "k1" },
          ],
        },
        /keys\[1\]: the key is already keys\[0\]'s/,
      ],
      [{ keys: [] }, /keys: /],
    ];
    bad.forEach(([content, says], i) => {
      const path = keysFile(`bad-${i}.json`, content);
      assert.throws(
        () => loadConfig({ PROOFGATE_API_KEYS_FILE: path }),
        (err: Error) =>
          err.message.startsWith(`PROOFGATE_API_KEYS_FILE ${path}: `) &&
          says.test(err.message) &&
          !err.message.includes("\n"),
      );
    });
    assert.throws(
      () => loadConfig({ PROOFGATE_API_KEYS_FILE: join(dir, "missing.json") }),
      /PROOFGATE_API_KEYS_FILE .*missing\.json: cannot read it/,
    );
    assert.throws(
      () =>
        loadConfig({
          PROOFGATE_API_KEYS: "k1",
          PROOFGATE_API_KEYS_FILE: keysFile("twice.json", { keys: [{ name: "a", key: "k1" }] }),
        }),
      /"a" is also in PROOFGATE_API_KEYS/,
    );
  });

  it("that is bad stops `proofgate serve` at start-up with one line, without the keys", () => {
    const path = keysFile("serve.json", {
      keys: [{ name: "alice", key: "sk-alice-secret", requests_per_minute: "60" }],
    });
    const run = spawnSync(process.execPath, ["--import", "tsx", "src/main.ts", "serve"], {
      encoding: "utf8",
      env: { ...process.env, PROOFGATE_API_KEYS_FILE: path, PROOFGATE_DATA_DIR: dir, PORT: "0" },
      timeout: 60_000,
    });
    assert.equal(run.status, 1, run.stderr);
    assert.equal(run.stderr.trim().split("\n").length, 1, run.stderr);
    assert.match(
      run.stderr,
      /^proofgate serve: PROOFGATE_API_KEYS_FILE .*serve\.json: keys\[0\]\.requests_per_minute: /,
    );
    assert.ok(!run.stderr.includes("sk-alice-secret"));
  });
});
