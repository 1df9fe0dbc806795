import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { renderChatPrompt } from "../../src/model/chat-template.js";
import type { LanguageModel } from "../../src/model/served-model.js";
import { generateText } from "../../src/model/text-generation.js";
import { parseSse, postJson, startTestGateway, type TestGateway } from "./gateway-fixture.js";

const MESSAGES = [
  { role: "system" as const, content: "You are a sailor." },
  { role: "user" as const, content: "Tell me about the whale." },
];

describe("POST /v1/chat/completions", () => {
  let gw: TestGateway;
  before(async () => {
    gw = await startTestGateway();
  });
  after(() => gw.close());

  it("lists the models with provable flags, device and context length", async () => {
    const list = await gw.client.models.list();
    const byId = new Map(list.data.map((m) => [m.id, m as unknown as Record<string, unknown>]));
    assert.equal(byId.get("pg-student")?.provable, true);
    assert.equal(byId.get("pg-teacher")?.provable, false);
    assert.equal(byId.get("pg-spam")?.provable, true);
    assert.equal(byId.get("pg-student")?.context_length, 16);
    assert.equal(byId.get("pg-teacher")?.context_length, 32);
    const one = (await gw.client.models.retrieve("pg-student")) as unknown as Record<string, unknown>;
    assert.equal(one.object, "model");
    assert.equal(one.device, "cpu");
    assert.equal(one.task, "text-generation");
  });

  it("greedy student answer equals a direct engine call on the chat template's prompt, with usage", async () => {
    const res = await gw.client.chat.completions.create({
      model: "pg-student",
      messages: MESSAGES,
      temperature: 0,
      max_tokens: 24,
    });
    const model = gw.registry.get("pg-student") as LanguageModel;
    const promptTokens = model.tokenizer.encode(renderChatPrompt(MESSAGES));
    const direct = await generateText({
      model,
      promptTokens,
      maxTokens: 24,
      temperature: 0,
      topP: 1,
      seed: 0,
      stop: ["\nUser:"],
      topLogprobs: null,
    });
    assert.equal(res.choices[0]!.message.content, direct.text);
    assert.equal(res.choices[0]!.finish_reason, direct.finishReason);
    assert.equal(res.object, "chat.completion");
    assert.equal(res.model, "pg-student");
    assert.match(res.id, /^chatcmpl-/);
    assert.deepEqual(res.usage, {
      prompt_tokens: promptTokens.length,
      completion_tokens: direct.completionTokens,
      total_tokens: promptTokens.length + direct.completionTokens,
    });
  });

  it("the same seed gives the same text; different seeds usually differ", async () => {
    const ask = (seed: number) =>
      gw.client.chat.completions.create({
        model: "pg-teacher",
        messages: MESSAGES,
        temperature: 1,
        seed,
        max_tokens: 16,
      });
    const a = await ask(7);
    const b = await ask(7);
    assert.equal(a.choices[0]!.message.content, b.choices[0]!.message.content);
    const others = await Promise.all([8, 9, 10, 11].map(ask));
    assert.ok(
      others.some((o) => o.choices[0]!.message.content !== a.choices[0]!.message.content),
      "four other seeds all gave the same text",
    );
  });

  it("n=3 gives three indexed choices, and max_tokens caps with finish_reason length", async () => {
    const res = await gw.client.chat.completions.create({
      model: "pg-student",
      messages: MESSAGES,
      n: 3,
      seed: 1,
      max_tokens: 5,
    });
    assert.deepEqual(
      res.choices.map((c) => c.index),
      [0, 1, 2],
    );
    for (const c of res.choices) assert.ok(c.finish_reason === "length" || c.finish_reason === "stop");
    assert.ok(res.usage!.completion_tokens <= 15);
    const capped = await gw.client.chat.completions.create({
      model: "pg-student",
      messages: MESSAGES,
      temperature: 0,
      max_completion_tokens: 3,
    });
    if (capped.choices[0]!.finish_reason === "length") assert.equal(capped.usage!.completion_tokens, 3);
  });

  it("stop strings end the answer before the stop string", async () => {
    const full = await gw.client.chat.completions.create({
      model: "pg-teacher",
      messages: MESSAGES,
      temperature: 0,
      max_tokens: 40,
    });
    const text = full.choices[0]!.message.content!;
    assert.ok(text.length >= 10, `greedy answer too short to test stops: ${JSON.stringify(text)}`);
    const stop = text.slice(6, 9);
    const cut = await gw.client.chat.completions.create({
      model: "pg-teacher",
      messages: MESSAGES,
      temperature: 0,
      max_tokens: 40,
      stop: [stop, "\u0000never"],
    });
    assert.equal(cut.choices[0]!.message.content, text.slice(0, text.indexOf(stop)));
    assert.equal(cut.choices[0]!.finish_reason, "stop");
  });

  it("logprobs: top_logprobs best-first, chosen token among or below them", async () => {
    const res = await gw.client.chat.completions.create({
      model: "pg-student",
      messages: MESSAGES,
      temperature: 0,
      max_tokens: 6,
      logprobs: true,
      top_logprobs: 3,
    });
    const content = res.choices[0]!.logprobs!.content!;
    assert.ok(content.length > 0);
    for (const entry of content) {
      assert.equal(entry.top_logprobs.length, 3);
      const lps = entry.top_logprobs.map((t) => t.logprob);
      assert.deepEqual(
        lps,
        [...lps].sort((x, y) => y - x),
      );
      // greedy: the chosen token is the most likely one
      assert.equal(entry.logprob, entry.top_logprobs[0]!.logprob);
      assert.ok(entry.logprob <= 0);
    }
    const bytes = content.flatMap((e) => e.bytes!);
    assert.equal(Buffer.from(bytes).toString("utf8"), res.choices[0]!.message.content);
  });

  it("stream() deltas join to the non-streamed answer for the same seed", async () => {
    const params = { model: "pg-teacher", messages: MESSAGES, temperature: 0.9, seed: 42, max_tokens: 20, n: 2 };
    const whole = await gw.client.chat.completions.create(params);
    const stream = gw.client.chat.completions.stream(params);
    const final = await stream.finalChatCompletion();
    assert.deepEqual(
      final.choices.map((c) => c.message.content),
      whole.choices.map((c) => c.message.content),
    );
    assert.deepEqual(
      final.choices.map((c) => c.finish_reason),
      whole.choices.map((c) => c.finish_reason),
    );
  });

  it("SSE framing: role first, one id, finish_reason only on the final chunk, usage only when asked, [DONE]", async () => {
    const body = {
      model: "pg-student",
      messages: MESSAGES,
      seed: 3,
      max_tokens: 8,
      stream: true,
      stream_options: { include_usage: true },
    };
    const res = await postJson(`${gw.url}/v1/chat/completions`, body);
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type")!, /^text\/event-stream/);
    const events = parseSse(await res.text());
    assert.equal(events.at(-1), "[DONE]");
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e));
    assert.equal(new Set(chunks.map((c) => c.id)).size, 1);
    assert.deepEqual(chunks[0].choices[0].delta, { role: "assistant", content: "" });
    const usage = chunks.at(-1);
    assert.deepEqual(usage.choices, []);
    assert.equal(usage.usage.completion_tokens + usage.usage.prompt_tokens, usage.usage.total_tokens);
    const withChoices = chunks.slice(0, -1);
    const finals = withChoices.filter((c) => c.choices[0].finish_reason !== null);
    assert.equal(finals.length, 1);
    assert.equal(finals[0], withChoices.at(-1));
    for (const c of withChoices) assert.equal(c.object, "chat.completion.chunk");

    const plain = parseSse(
      await (await postJson(`${gw.url}/v1/chat/completions`, { ...body, stream_options: undefined })).text(),
    );
    const plainChunks = plain.slice(0, -1).map((e) => JSON.parse(e));
    assert.ok(plainChunks.every((c) => c.choices.length === 1 && !("usage" in c)));
    const streamed = plainChunks.map((c) => c.choices[0].delta.content ?? "").join("");
    const whole = await gw.client.chat.completions.create({
      model: "pg-student",
      messages: MESSAGES,
      seed: 3,
      max_tokens: 8,
    });
    assert.equal(streamed, whole.choices[0]!.message.content);
  });

  it("accepts proof: false and unknown fields", async () => {
    const res = await postJson(`${gw.url}/v1/chat/completions`, {
      model: "pg-student",
      messages: MESSAGES,
      max_tokens: 2,
      proof: false,
      frobnicate: { x: 1 },
    });
    assert.equal(res.status, 200);
    const json = (await res.json()) as Record<string, unknown>;
    assert.equal("proof" in json, false);
  });
});
