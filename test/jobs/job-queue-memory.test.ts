/** The JobQueue conformance suite on the in-process queue: no service needed. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { MemoryJobQueue } from "../../src/jobs/job-queue-memory.js";
import { until } from "../fixtures/until.js";
import { runJobQueueConformance } from "./job-queue.conformance.js";

runJobQueueConformance("memory", {
  async open(options) {
    const queue = new MemoryJobQueue(options);
    return { queue, openAnother: async () => queue, dispose: () => queue.close() };
  },
});

test("events: once fires once, off removes a once listener, and a throwing listener reports to error", async () => {
  const queue = new MemoryJobQueue();
  const seen: string[] = [];
  const removed = () => seen.push("removed");
  queue.once("completed", ({ jobId }) => seen.push(`once ${jobId}`));
  queue.once("completed", removed).off("completed", removed);
  queue.on("completed", () => {
    throw new Error("listener broke");
  });
  queue.on("error", (err) => seen.push(`error ${err.message}`));
  const worker = await queue.process(async () => {});
  await queue.enqueue({ proofId: "proof-1" });
  await queue.enqueue({ proofId: "proof-2" });
  await until(
    () => seen.filter((s) => s.startsWith("error")).length,
    (errors) => errors >= 2,
    { what: "two listener errors" },
  );
  assert.deepEqual(seen, ["once proof-1", "error listener broke", "error listener broke"]);
  await worker.close();
  await queue.close();
});
