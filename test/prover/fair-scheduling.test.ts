/**
 * Fair order of proof jobs: a long completion's steps interleave with later requests instead of
 * holding them back. One worker takes one job at a time, so the order it sees is the queue's.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { pino } from "pino";
import { MemoryJobQueue } from "../../src/jobs/job-queue-memory.js";
import { ProofScheduler } from "../../src/prover/proof-scheduler.js";
import { HASHED_NONCE_BITS, textContentHash } from "../../src/core/request-binding.js";
import { MemoryProofStore } from "../../src/store/proof-store-memory.js";

const circuit = { modelId: "a".repeat(64), vkeyHash: "b".repeat(64) };

describe("fair proof scheduling", () => {
  it("a short request that arrives behind a long completion is proved before the long one's later steps", async () => {
    const queue = new MemoryJobQueue();
    const scheduler = new ProofScheduler({ store: new MemoryProofStore(), queue, logger: pino({ level: "silent" }) });
    const generation = (id: string, tokens: number) =>
      scheduler.scheduleGeneration({
        id,
        model: "pg-student",
        circuit,
        endpoint: "/v1/completions",
        promptTokens: [[1, 2, 3]],
        padToken: 0,
        choices: [{ index: 0, prompt_index: 0, tokens: Array.from({ length: tokens }, (_, k) => 10 + k), text: "", finish_reason: "length", completion_tokens: tokens }],
        temperature: 0,
        maxTokens: tokens,
        stop: [],
        nonceBits: 109,
      });
    await generation("long", 30);
    await generation("short", 2);
    await scheduler.scheduleInference({
      id: "single",
      model: "pg-spam",
      circuit,
      endpoint: "/v1/inferences",
      input: "hello",
      sample: [1, 0],
      served: { argmax: 0, logits: [1, 0] },
      output: {},
      contentHash: textContentHash("hello"),
      nonceBits: HASHED_NONCE_BITS,
    });
    const order: string[] = [];
    // 30 + 2 steps, two flow parents and the single inference
    const jobs = 35;
    let completed = 0;
    const done = new Promise<void>((resolve) => queue.on("completed", () => ++completed === jobs && resolve()));
    await queue.process(async (job) => void order.push(job.id), { concurrency: 1 });
    await done;
    await queue.close();
    assert.equal(order.length, jobs);
    const at = (id: string) => order.indexOf(id);
    // the first positions of every request come first: long#0, short#0, single, long#1, short#1, …
    assert.ok(at("single") < at("long#2"), order.join(" "));
    assert.ok(at("short") < at("long#3"), `the short completion finished before the long one's fourth step: ${order.join(" ")}`);
    assert.equal(order.filter((id) => id.startsWith("long#")).length, 30);
  });
});
