/**
 * What one request may cost: a proven answer's default length, the ceiling on its step proofs, and
 * the size of any answer (tokens × alternatives), each refused up front with a 400 that names the
 * limit. No provers run here: the records only have to exist.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { postJson, startProvingTestGateway, type ProvingTestGateway } from "./gateway-fixture.js";

const CHAT = { model: "pg-student", messages: [{ role: "user", content: "Tell me about the whale" }] };

describe("proof and response budgets", () => {
  let gw: ProvingTestGateway;
  before(async () => {
    gw = await startProvingTestGateway({
      provers: 0,
      maxProofSteps: 64,
      provenDefaultMaxTokens: 8,
      defaultMaxTokens: 40,
    });
  });
  after(() => gw.close());

  const refused = async (res: Response, param: string, says: RegExp): Promise<void> => {
    const body = (await res.json()) as { error: { code: string; param: string; message: string } };
    assert.equal(res.status, 400, JSON.stringify(body));
    assert.equal(body.error.code, "invalid_argument");
    assert.equal(body.error.param, param);
    assert.match(body.error.message, says);
  };

  it("a proven answer without max_tokens stops at the proven default, and its record has that many steps at most", async () => {
    const res = await postJson(`${gw.url}/v1/chat/completions`, { ...CHAT, stop: null });
    const body = (await res.json()) as { usage: { completion_tokens: number }; proof: { id: string } };
    assert.equal(res.status, 200);
    assert.ok(body.usage.completion_tokens <= 8, `${body.usage.completion_tokens} tokens`);
    const record = (await (await fetch(`${gw.url}/v1/proofs/${body.proof.id}`)).json()) as { steps: unknown[] };
    assert.equal(record.steps.length, body.usage.completion_tokens);
  });

  it("an unproven answer keeps the ordinary default", async () => {
    const res = await postJson(`${gw.url}/v1/completions`, {
      model: "pg-student",
      prompt: "The",
      proof: false,
      stop: null,
    });
    const body = (await res.json()) as { usage: { completion_tokens: number }; choices: { finish_reason: string }[] };
    assert.equal(res.status, 200);
    // it may end early on end-of-text, never at the proven default of 8 unless it did
    assert.ok(body.usage.completion_tokens > 8 || body.choices[0]!.finish_reason === "stop");
  });

  it("more step proofs than the ceiling → 400 naming it; proof: false is served", async () => {
    await refused(
      await postJson(`${gw.url}/v1/chat/completions`, { ...CHAT, max_tokens: 65 }),
      "max_tokens",
      /65 step proofs; at most 64 per request.*"proof": false/,
    );
    await refused(
      await postJson(`${gw.url}/v1/chat/completions`, { ...CHAT, max_completion_tokens: 16, n: 5 }),
      "max_completion_tokens",
      /5 choice\(s\) × 16 tokens needs up to 80 step proofs/,
    );
    await refused(
      await postJson(`${gw.url}/v1/completions`, { model: "pg-student", prompt: ["a", "b", "c"], max_tokens: 22 }),
      "max_tokens",
      /3 choice\(s\) × 22 tokens/,
    );
    const unproven = await postJson(`${gw.url}/v1/chat/completions`, { ...CHAT, max_tokens: 65, proof: false });
    assert.equal(unproven.status, 200);
    // the teacher is not provable: no proof budget, only the response budget
    assert.equal(
      (await postJson(`${gw.url}/v1/chat/completions`, { ...CHAT, model: "pg-teacher", max_tokens: 65 })).status,
      200,
    );
  });

  it("an answer too large to build → 400, for any model", async () => {
    const huge = { ...CHAT, model: "pg-teacher", max_tokens: 4096, n: 16, logprobs: true, top_logprobs: 20 };
    await refused(
      await postJson(`${gw.url}/v1/chat/completions`, huge),
      "max_tokens",
      /1376256 token entries; at most 131072 per answer/,
    );
    assert.equal((await fetch(`${gw.url}/health`)).status, 200);
  });
});
