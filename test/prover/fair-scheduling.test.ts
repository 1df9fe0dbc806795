/**
 * The order of proof jobs, on both queues (in-process and BullMQ on the local Redis): under `fair` a
 * long completion's steps interleave with later requests instead of holding them back; under `fifo`
 * (PROOFGATE_PROOF_ORDER=fifo) they run in arrival order. One worker takes one job at a time, so the
 * order it sees is the queue's.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { pino } from "pino";
import type { ProofOrder } from "../../src/config/config.js";
import type { JobQueue } from "../../src/jobs/job-queue.js";
import { BullmqJobQueue } from "../../src/jobs/job-queue-bullmq.js";
import { MemoryJobQueue } from "../../src/jobs/job-queue-memory.js";
import { probeRedis } from "../../src/jobs/redis-available.js";
import { ProofScheduler } from "../../src/prover/proof-scheduler.js";
import { HASHED_NONCE_BITS, textContentHash } from "../../src/core/request-binding.js";
import { MemoryProofStore } from "../../src/store/proof-store-memory.js";

const circuit = { modelId: "a".repeat(64), vkeyHash: "b".repeat(64) };
const redisUrl = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const probe = await probeRedis(redisUrl, 2000);
if (!probe.reachable && process.env.CI === "true")
  throw new Error(`Redis at ${redisUrl} is required under CI=true: ${probe.reason}`);

interface Harness {
  open(): Promise<JobQueue>;
  dispose(queue: JobQueue): Promise<void>;
}

const memory: Harness = {
  open: async () => new MemoryJobQueue(),
  dispose: (queue) => queue.close(),
};

const bullmq: Harness = {
  open: () =>
    BullmqJobQueue.open({
      url: redisUrl,
      prefix: `proofgate-test-order-${process.pid}-${randomBytes(3).toString("hex")}`,
    }),
  async dispose(queue) {
    await (queue as BullmqJobQueue).obliterate();
    await queue.close();
  },
};

/**
 * A 30-token completion, then a 2-token one, then a single inference, all enqueued before one worker
 * (concurrency 1) starts: the job ids in the order it ran them.
 */
async function runOrder(harness: Harness, order: ProofOrder): Promise<string[]> {
  const queue = await harness.open();
  try {
    const scheduler = new ProofScheduler({
      store: new MemoryProofStore(),
      queue,
      logger: pino({ level: "silent" }),
      order,
    });
    const generation = (id: string, tokens: number) =>
      scheduler.scheduleGeneration({
        id,
        model: "pg-student",
        circuit,
        endpoint: "/v1/completions",
        promptTokens: [[1, 2, 3]],
        padToken: 0,
        choices: [
          {
            index: 0,
            prompt_index: 0,
            tokens: Array.from({ length: tokens }, (_, k) => 10 + k),
            text: "",
            finish_reason: "length",
            completion_tokens: tokens,
          },
        ],
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
    const ran: string[] = [];
    // 30 + 2 steps, two flow parents and the single inference
    const jobs = 35;
    let completed = 0;
    const done = new Promise<void>((resolve) => queue.on("completed", () => ++completed === jobs && resolve()));
    const worker = await queue.process(async (job) => void ran.push(job.id), { concurrency: 1 });
    await done;
    await worker.close();
    assert.equal(ran.length, jobs);
    return ran;
  } finally {
    await harness.dispose(queue);
  }
}

const kinds = [
  ["in-process queue", memory, undefined],
  ["BullMQ queue", bullmq, probe.reachable ? undefined : `no Redis at ${redisUrl} (${probe.reason})`],
] as const;

for (const [kind, harness, skip] of kinds) {
  describe(`proof order on the ${kind}`, { skip }, () => {
    it("fair: a short request that arrives behind a long completion is proved before the long one's later steps", async () => {
      const ran = await runOrder(harness, "fair");
      const at = (id: string) => ran.indexOf(id);
      // the first positions of every request come first: long#0, short#0, single, long#1, short#1, …
      assert.ok(at("single") < at("long#2"), ran.join(" "));
      assert.ok(
        at("short") < at("long#3"),
        `the short completion finished before the long one's fourth step: ${ran.join(" ")}`,
      );
      assert.equal(ran.filter((id) => id.startsWith("long#")).length, 30);
    });

    it("fifo: every job in arrival order, the short ones after all of the long one's steps", async () => {
      const ran = await runOrder(harness, "fifo");
      // a flow's parent runs once its children are done; the order of everything else is arrival
      const arrived = [...Array.from({ length: 30 }, (_, k) => `long#${k}`), "short#0", "short#1", "single"];
      assert.deepEqual(
        ran.filter((id) => id !== "long" && id !== "short"),
        arrived,
      );
    });
  });
}
