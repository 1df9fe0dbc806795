/**
 * The JobQueue conformance suite on BullMQ and the real Redis ($REDIS_URL, default the local one).
 * Each run uses its own key prefix and each test its own queue, obliterated afterwards, so concurrent
 * runs don't collide. Skips with a reason when no Redis answers on a developer machine; under CI=true
 * a missing Redis fails (STYLE rule 10).
 */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { Queue } from "bullmq";
import { isProofgateError } from "../../src/core/errors.js";
import { BullmqJobQueue, type BullmqJobQueueOptions } from "../../src/jobs/job-queue-bullmq.js";
import { isRedisReachable, probeRedis } from "../../src/jobs/redis-available.js";
import { until, untilIdle } from "../fixtures/until.js";
import { runJobQueueConformance } from "./job-queue.conformance.js";

const url = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const prefix = `proofgate-test-${process.pid}-${randomBytes(3).toString("hex")}`;
let queueCount = 0;

async function unreachable(): Promise<string | undefined> {
  const probe = await probeRedis(url, 2000);
  if (probe.reachable) return undefined;
  if (process.env.CI === "true") throw new Error(`Redis at ${url} is required under CI=true: ${probe.reason}`);
  return `no Redis at ${url} (${probe.reason})`;
}

const skip = await unreachable();

runJobQueueConformance(
  "bullmq",
  {
    async open(options) {
      const queueOptions: BullmqJobQueueOptions = { ...options, url, prefix, name: `q${++queueCount}` };
      const handles = [await BullmqJobQueue.open(queueOptions)];
      return {
        queue: handles[0],
        async openAnother() {
          const handle = await BullmqJobQueue.open(queueOptions);
          handles.push(handle);
          return handle;
        },
        async dispose() {
          await Promise.all(handles.map((h) => h.close()));
          const cleaner = await BullmqJobQueue.open(queueOptions);
          await cleaner.obliterate();
          await cleaner.close();
        },
      };
    },
  },
  { skip, shortLock: { lockMs: 400, stalledIntervalMs: 150 } },
);

test("bullmq: a worker process killed with SIGKILL mid-job loses it to another worker, which completes it once", {
  skip,
}, async () => {
  const queueOptions = { url, prefix, name: `q${++queueCount}` };
  const queue = await BullmqJobQueue.open(queueOptions);
  const completed: string[] = [];
  const stalled: string[] = [];
  queue.on("completed", ({ jobId }) => completed.push(jobId));
  queue.on("stalled", ({ jobId }) => stalled.push(jobId));
  const child = spawn(
    process.execPath,
    ["--import", "tsx", fileURLToPath(new URL("./hanging-worker.fixture.ts", import.meta.url))],
    {
      env: { ...process.env, REDIS_URL: url, JOB_PREFIX: prefix, JOB_QUEUE: queueOptions.name },
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  try {
    const started = new Promise<string>((resolve, reject) => {
      let out = "";
      child.stdout!.on("data", (chunk: Buffer) => {
        out += chunk.toString();
        if (out.includes("ready\n") && !out.includes("enqueued")) {
          out += "enqueued";
          queue.enqueue({ proofId: "proof-killed" }).catch(reject);
        }
        const match = /started (\S+)\n/.exec(out);
        if (match) resolve(match[1]);
      });
      child.once("exit", (code) => reject(new Error(`worker process exited early with ${code}`)));
    });
    assert.equal(await started, "proof-killed");
    child.kill("SIGKILL");
    await once(child, "exit");

    const ran: string[] = [];
    const worker = await queue.process(async (job) => void ran.push(job.id), { lockMs: 400, stalledIntervalMs: 150 });
    await until(() => completed.length > 0 && stalled.length > 0, Boolean, { what: "the stall and the completion" });
    // nothing is left that could run the job a second time
    await untilIdle(queue);
    await worker.close();
    assert.deepEqual(ran, ["proof-killed"]);
    assert.deepEqual(completed, ["proof-killed"]);
    assert.deepEqual(stalled, ["proof-killed"]);
  } finally {
    child.kill("SIGKILL");
    await queue.obliterate();
    await queue.close();
  }
});

test("bullmq: open fails with not_ready, on its connect timeout, when nothing answers", { skip }, async () => {
  // the connect timeout ends the attempt, not a reconnect loop's giving up
  await assert.rejects(
    BullmqJobQueue.open({ url: "redis://127.0.0.1:1", prefix, connectTimeoutMs: 500 }),
    (err) => isProofgateError(err, "not_ready") && err.retryable && /no answer within 500 ms/.test(err.message),
  );
});

test("redis probe: the local Redis answers, a closed port and a non-Redis URL don't", { skip }, async () => {
  assert.equal(await isRedisReachable(url, 1000), true);
  assert.equal(await isRedisReachable("redis://127.0.0.1:1", 500), false);
  assert.equal((await probeRedis("http://127.0.0.1:6379", 500)).reachable, false);
});

after(async () => {
  if (skip) return;
  // Every test obliterated its queue: nothing under this run's prefix is left in Redis.
  const admin = new Queue("leftovers", { connection: { url }, prefix });
  try {
    const client = await admin.waitUntilReady();
    const keys: string[] = [];
    let cursor = "0";
    do {
      const [next, batch] = await client.scan(cursor, { MATCH: `${prefix}:*`, COUNT: 1000 });
      keys.push(...batch.filter((key) => !key.startsWith(`${prefix}:leftovers:`)));
      cursor = next;
    } while (cursor !== "0");
    assert.deepEqual(keys, [], `keys left under ${prefix}`);
    await admin.obliterate({ force: true });
  } finally {
    await admin.close();
  }
});
