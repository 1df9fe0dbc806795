import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { join, resolve } from "node:path";
import { Random } from "../../src/core/random.js";
import { isProofgateError } from "../../src/core/errors.js";
import type { EngineObserver } from "../../src/model/engine-observer.js";
import { argmaxFirst, runIntegerModel } from "../../src/model/integer-model.js";
import { chooseToken } from "../../src/model/sampler.js";
import { loadServedModel, type LanguageModel } from "../../src/model/served-model.js";
import { StopMatcher } from "../../src/model/stop-sequences.js";
import { generateText } from "../../src/model/text-generation.js";
import { logSoftmax, topTokens } from "../../src/model/token-logprobs.js";
import { until } from "../fixtures/until.js";

const MODELS_DIR = resolve(process.env.PROOFGATE_TEST_MODELS_DIR ?? "artifacts/models");

describe("StopMatcher", () => {
  it("holds back a possible stop prefix and cuts at the earliest stop", () => {
    const m = new StopMatcher(["END", "xy"]);
    assert.deepEqual(m.push("abcE"), { released: "abc", stopped: false });
    assert.deepEqual(m.push("N"), { released: "", stopped: false });
    assert.deepEqual(m.push("Dzz"), { released: "", stopped: true });
    const n = new StopMatcher(["END", "xy"]);
    assert.deepEqual(n.push("1xEND"), { released: "1x", stopped: true });
    const o = new StopMatcher(["END"]);
    assert.deepEqual(o.push("abEN"), { released: "ab", stopped: false });
    assert.deepEqual(o.push("x"), { released: "ENx", stopped: false });
    assert.equal(o.push("E").released, "");
    assert.equal(o.flush(), "E");
  });
});

describe("sampler and logprobs", () => {
  it("greedy is the first arg-max of the raw logits", () => {
    const logits = Float32Array.from([1, 7, 7, 3]);
    assert.equal(chooseToken(logits, { temperature: 0, topP: 1, logitScale: 1 }, new Random(1)), 1);
  });

  it("a tiny top_p keeps only the most likely token; the same seed repeats the draw", () => {
    const logits = Float32Array.from([0, 2, 1, 0.5]);
    for (let s = 0; s < 20; s++)
      assert.equal(chooseToken(logits, { temperature: 1, topP: 0.01, logitScale: 1 }, new Random(s)), 1);
    const draw = (seed: number) => {
      const r = new Random(seed);
      return Array.from({ length: 30 }, () => chooseToken(logits, { temperature: 1, topP: 1, logitScale: 1 }, r));
    };
    assert.deepEqual(draw(5), draw(5));
    assert.ok(new Set(draw(5)).size > 1, "temperature 1 samples more than one token");
  });

  it("top_p 1 draws each token with its softmax probability", () => {
    // weights 1 : 2 : 4 (logits ln 1, ln 2, ln 4 at temperature 1)
    const logits = Float32Array.from([0, Math.LN2, 2 * Math.LN2]);
    const r = new Random(11);
    const counts = [0, 0, 0];
    const draws = 14_000;
    for (let k = 0; k < draws; k++) counts[chooseToken(logits, { temperature: 1, topP: 1, logitScale: 1 }, r)]!++;
    // within 5 standard deviations of the expected 2,000 / 4,000 / 8,000
    counts.forEach((count, i) => {
      const p = 2 ** i / 7;
      assert.ok(Math.abs(count - draws * p) < 5 * Math.sqrt(draws * p * (1 - p)), `token ${i}: ${count} of ${draws}`);
    });
  });

  it("topTokens lists the best, lower id first on ties, and log-softmax normalises", () => {
    const lp = logSoftmax(Float32Array.from([2, 5, 5, 1]), 1);
    assert.ok(Math.abs(Array.from(lp).reduce((a, b) => a + Math.exp(b), 0) - 1) < 1e-12);
    assert.deepEqual(
      topTokens(lp, 3).map((t) => t.id),
      [1, 2, 0],
    );
  });
});

describe("generation engine on pg-student", () => {
  const batches: number[] = [];
  const observer: EngineObserver = {
    batchRan: (_m, size) => void batches.push(size),
    activeChanged: () => {},
    waitingChanged: () => {},
    tokensGenerated: () => {},
  };
  let student: LanguageModel;
  let tight: LanguageModel;

  before(async () => {
    const loaded = await loadServedModel({
      dir: join(MODELS_DIR, "pg-student"),
      device: "cpu",
      maxBatchSize: 64,
      maxWaiting: 64,
      observer,
    });
    assert.equal(loaded.kind, "language");
    student = loaded as LanguageModel;
    tight = (await loadServedModel({
      dir: join(MODELS_DIR, "pg-student"),
      device: "cpu",
      maxBatchSize: 1,
      maxWaiting: 0,
    })) as LanguageModel;
  });
  after(async () => {
    await student.session.release();
    await tight.session.release();
  });

  const greedy = (model: LanguageModel, prompt: string, maxTokens: number, signal?: AbortSignal) =>
    generateText({
      model,
      promptTokens: model.tokenizer.encode(prompt),
      maxTokens,
      temperature: 0,
      topP: 1,
      seed: 0,
      stop: [],
      topLogprobs: null,
      signal,
    });

  it("greedy text is the integer reference's arg-max at every step", async () => {
    const prompt = "Call me Ishmael. Some years ago";
    const result = await greedy(student, prompt, 12);
    const { tokenizer, integer, contextLength } = student;
    const tokens = tokenizer.encode(prompt);
    const expected: number[] = [];
    for (let i = 0; i < result.completionTokens; i++) {
      const tail = tokens.slice(-contextLength);
      const context = [...new Array<number>(contextLength - tail.length).fill(tokenizer.eotId), ...tail];
      const next = argmaxFirst(runIntegerModel(integer!, context));
      if (next === tokenizer.eotId) break;
      expected.push(next);
      tokens.push(next);
    }
    assert.equal(result.text, tokenizer.decode(expected));
  });

  it("concurrent sequences share batched steps and give the same text as alone", async () => {
    const prompts = Array.from({ length: 8 }, (_, i) => `The whale number ${i} said`);
    const alone: string[] = [];
    for (const p of prompts) alone.push((await greedy(student, p, 10)).text);
    batches.length = 0;
    const together = await Promise.all(prompts.map((p) => greedy(student, p, 10)));
    assert.deepEqual(
      together.map((r) => r.text),
      alone,
    );
    assert.equal(Math.max(...batches), 8, `batch sizes seen: ${batches.join(",")}`);
    assert.ok(batches.length <= 12, `8 sequences of ≤10 steps ran in ${batches.length} batched steps`);
  });

  it("aborting a generation frees its slot", async () => {
    const controller = new AbortController();
    const running = greedy(student, "It was", 100_000, controller.signal);
    await until(
      () => student.batcher.activeCount,
      (n) => n === 1,
      { what: "the generation to take a slot" },
    );
    controller.abort(new Error("client left"));
    await assert.rejects(running, /client left/);
    assert.equal(student.batcher.activeCount, 0);
    assert.equal(student.batcher.busy, false);
  });

  it("refuses a sequence when every slot and queue place is taken", async () => {
    const controller = new AbortController();
    const running = greedy(tight, "It was", 100_000, controller.signal);
    await assert.rejects(greedy(tight, "Another", 5), (err) => isProofgateError(err, "overloaded"));
    controller.abort(new Error("done"));
    await assert.rejects(running, /done/);
  });
});
