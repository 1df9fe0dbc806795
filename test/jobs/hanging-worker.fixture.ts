/**
 * A worker process for the SIGKILL test: takes jobs from the BullMQ queue named by its environment,
 * says `started <jobId>` on stdout, and never finishes, until the test kills it.
 */
import { BullmqJobQueue } from "../../src/jobs/job-queue-bullmq.js";

const queue = await BullmqJobQueue.open({
  url: process.env.REDIS_URL,
  prefix: process.env.JOB_PREFIX,
  name: process.env.JOB_QUEUE,
});
await queue.process(
  async (job) => {
    process.stdout.write(`started ${job.id}\n`);
    await new Promise<never>(() => {});
  },
  { lockMs: 400, stalledIntervalMs: 150 },
);
process.stdout.write("ready\n");
