import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { LanguageModel } from "../../src/model/served-model.js";
import { generateText } from "../../src/model/text-generation.js";
import { parseSse, postJson, startTestGateway, type TestGateway } from "./gateway-fixture.js";

const PROMPT = "Call me Ishmael. Some years ago, never mind how long";

describe("POST /v1/completions", () => {
  let gw: TestGateway;
  before(async () => {
    gw = await startTestGateway();
  });
  after(() => gw.close());

  it("greedy text equals a direct engine call; prompt may be text or token ids", async () => {
    const model = gw.registry.get("pg-student") as LanguageModel;
    const tokens = model.tokenizer.encode(PROMPT);
    const direct = await generateText({
      model,
      promptTokens: tokens,
      maxTokens: 16,
      temperature: 0,
      topP: 1,
      seed: 0,
      stop: [],
      topLogprobs: null,
    });
    const res = await gw.client.completions.create({
      model: "pg-student",
      prompt: PROMPT,
      temperature: 0,
      max_tokens: 16,
    });
    assert.equal(res.object, "text_completion");
    assert.match(res.id, /^cmpl-/);
    assert.equal(res.choices[0]!.text, direct.text);
    assert.equal(res.usage!.prompt_tokens, tokens.length);
    assert.equal(res.usage!.completion_tokens, direct.completionTokens);
    const byIds = await gw.client.completions.create({
      model: "pg-student",
      prompt: tokens,
      temperature: 0,
      max_tokens: 16,
    });
    assert.equal(byIds.choices[0]!.text, direct.text);
  });

  it("several prompts × n choices, indexed prompt-major; echo prefixes the prompt", async () => {
    const res = await gw.client.completions.create({
      model: "pg-student",
      prompt: ["The sea", "The President"],
      n: 2,
      temperature: 0,
      max_tokens: 4,
    });
    assert.deepEqual(
      res.choices.map((c) => c.index),
      [0, 1, 2, 3],
    );
    // greedy: both choices of a prompt agree
    assert.equal(res.choices[0]!.text, res.choices[1]!.text);
    const echoed = await gw.client.completions.create({
      model: "pg-student",
      prompt: "The sea",
      temperature: 0,
      max_tokens: 4,
      echo: true,
    });
    assert.equal(echoed.choices[0]!.text, `The sea${res.choices[0]!.text}`);
  });

  it("logprobs in the completions form, with offsets into the text", async () => {
    const res = await gw.client.completions.create({
      model: "pg-teacher",
      prompt: PROMPT,
      temperature: 0,
      max_tokens: 8,
      logprobs: 2,
    });
    const lp = res.choices[0]!.logprobs!;
    assert.equal(lp.tokens!.length, lp.token_logprobs!.length);
    assert.equal(lp.top_logprobs!.length, lp.tokens!.length);
    assert.equal(lp.text_offset![0], 0);
    for (const top of lp.top_logprobs!) assert.ok(Object.keys(top).length >= 1 && Object.keys(top).length <= 2);
    const text = res.choices[0]!.text;
    lp.tokens!.forEach((token, i) => {
      if (!token.includes("\uFFFD"))
        assert.equal(text.slice(lp.text_offset![i], lp.text_offset![i]! + token.length), token);
    });
  });

  it("streamed text chunks join to the non-streamed text for the same seed, ending in [DONE]", async () => {
    const body = {
      model: "pg-teacher",
      prompt: PROMPT,
      temperature: 1,
      top_p: 0.9,
      seed: 1234,
      max_tokens: 24,
      stop: ["\n\n"],
    };
    const whole = await gw.client.completions.create(body);
    const res = await postJson(`${gw.url}/v1/completions`, { ...body, stream: true });
    const events = parseSse(await res.text());
    assert.equal(events.at(-1), "[DONE]");
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e));
    assert.equal(chunks.map((c) => c.choices[0].text).join(""), whole.choices[0]!.text);
    assert.equal(chunks.at(-1).choices[0].finish_reason, whole.choices[0]!.finish_reason);
    assert.ok(chunks.slice(0, -1).every((c) => c.choices[0].finish_reason === null));
  });
});
