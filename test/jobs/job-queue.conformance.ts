/**
 * One behaviour for every JobQueue (STYLE rule 11): the in-process and BullMQ test files each call
 * `runJobQueueConformance` with a harness that opens a fresh, empty queue per test.
 */
import { afterEach, describe, test } from "node:test";
import assert from "node:assert/strict";
import { isProofgateError, ProofgateError } from "../../src/core/errors.js";
import type { JobContext, JobQueue, JobQueueOptions, JobWorker, ProcessOptions } from "../../src/jobs/job-queue.js";
import { sleep, until, untilIdle } from "../fixtures/until.js";

export interface OpenedQueue {
  readonly queue: JobQueue;
  /** Another handle on the same queue (another process, another machine); the same handle in-process. */
  openAnother(): Promise<JobQueue>;
  /** Closes every handle and removes the queue's data. */
  dispose(): Promise<void>;
}

export interface JobQueueHarness {
  /** A fresh, empty queue. */
  open(options: JobQueueOptions): Promise<OpenedQueue>;
}

export interface JobQueueConformanceOptions {
  /** Skip the whole suite, with this one-line reason. */
  readonly skip?: string;
  /** Claim settings for the force-close test: short, so a lost job is handed on quickly. */
  readonly shortLock?: ProcessOptions;
}

/** Records a queue's events. */
function record(queue: JobQueue) {
  const log = { completed: [] as string[], failed: [] as { jobId: string; reason: string }[], stalled: [] as string[] };
  queue.on("completed", ({ jobId }) => log.completed.push(jobId));
  queue.on("failed", (event) => log.failed.push({ ...event }));
  queue.on("stalled", ({ jobId }) => log.stalled.push(jobId));
  return log;
}

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

export function runJobQueueConformance(
  name: string,
  harness: JobQueueHarness,
  options: JobQueueConformanceOptions = {},
): void {
  describe(`JobQueue conformance: ${name}`, { skip: options.skip }, () => {
    let opened: OpenedQueue | null = null;
    const workers: JobWorker[] = [];

    async function open(queueOptions: JobQueueOptions = {}): Promise<JobQueue> {
      opened = await harness.open({ backoffMs: 20, ...queueOptions });
      return opened.queue;
    }

    afterEach(async () => {
      for (const worker of workers.splice(0)) await worker.close(true);
      await opened?.dispose();
      opened = null;
    });

    async function work(queue: JobQueue, handler: (job: JobContext) => Promise<void>, processOptions?: ProcessOptions) {
      const worker = await queue.process(handler, processOptions);
      workers.push(worker);
      return worker;
    }

    test("the same job id twice is one job, and ids BullMQ refuses are refused", async () => {
      const queue = await open();
      const log = record(queue);
      assert.deepEqual(await queue.enqueue({ proofId: "proof-a" }), { jobId: "proof-a" });
      await queue.enqueue({ proofId: "proof-a" });
      assert.deepEqual(await queue.enqueue({ proofId: "proof-a", step: 2 }), { jobId: "proof-a#2" });
      await queue.enqueue({ proofId: "proof-a", step: 2 }, { jobId: "proof-a#2" });
      assert.equal((await queue.counts()).waiting, 2);

      const runs: string[] = [];
      await work(queue, async (job) => void runs.push(`${job.id} ${job.role} ${JSON.stringify(job.payload)}`));
      await until(() => log.completed.length === 2, Boolean, { what: "2 completions" });
      await untilIdle(queue);
      assert.deepEqual(runs.sort(), [
        'proof-a standalone {"proofId":"proof-a"}',
        'proof-a#2 standalone {"proofId":"proof-a","step":2}',
      ]);

      for (const jobId of ["a:b", "42", ""]) {
        await assert.rejects(
          queue.enqueue({ proofId: "proof-b" }, { jobId }),
          (err) => isProofgateError(err, "invalid_argument") && err.param === "jobId",
        );
      }
      await assert.rejects(
        queue.enqueue({ proofId: "proof-b", step: -1 }),
        (err) => isProofgateError(err, "invalid_argument") && err.param === "payload.step",
      );
      await assert.rejects(
        queue.process(async () => {}, { concurrency: 0 }),
        (err) => isProofgateError(err, "invalid_argument") && err.param === "concurrency",
      );
    });

    test("two workers on two handles share 50 jobs: none twice, none lost", async () => {
      const queue = await open();
      const other = await opened!.openAnother();
      const log = record(queue);
      const done = new Map<string, string[]>();
      const handler = (who: string) => async (job: JobContext) => {
        await sleep(10);
        done.set(job.id, [...(done.get(job.id) ?? []), who]);
      };
      await work(queue, handler("a"), { concurrency: 2 });
      await work(other, handler("b"), { concurrency: 2 });
      const ids = Array.from({ length: 50 }, (_, i) => `proof-${i}`);
      await Promise.all(ids.map((proofId, i) => (i % 2 ? queue : other).enqueue({ proofId })));

      await until(() => log.completed.length >= 50, Boolean, { what: "50 completions" });
      await untilIdle(queue);
      assert.deepEqual([...done.keys()].sort(), [...ids].sort());
      assert.ok(
        [...done.values()].every((by) => by.length === 1),
        "a job ran twice",
      );
      assert.equal(new Set(log.completed).size, 50);
      assert.equal(log.completed.length, 50);
      const byA = [...done.values()].filter((by) => by[0] === "a").length;
      assert.ok(byA > 0 && byA < 50, `both workers should take jobs; a took ${byA} of 50`);
    });

    test("a job that fails twice is retried with backoff and then completes", async () => {
      const queue = await open({ attempts: 3, backoffMs: 30 });
      const log = record(queue);
      const attempts: { attempt: number; at: number }[] = [];
      await work(queue, async (job) => {
        attempts.push({ attempt: job.attempt, at: Date.now() });
        // a library's error and a ProofgateError that says it is retryable: both tried again
        if (job.attempt === 1) throw new Error("flaky 1");
        if (job.attempt === 2) throw new ProofgateError("not_ready", "flaky 2", { retryable: true });
      });
      await queue.enqueue({ proofId: "proof-flaky" });
      await until(() => log.completed.length === 1, Boolean, { what: "the completion" });
      assert.deepEqual(
        attempts.map((a) => a.attempt),
        [1, 2, 3],
      );
      assert.ok(attempts[1].at - attempts[0].at >= 25, "first retry waits about backoffMs");
      assert.ok(attempts[2].at - attempts[1].at >= 55, "second retry waits about twice backoffMs");
      assert.deepEqual(log.failed, []);
    });

    test("a job whose attempts run out fails once, with its reason", async () => {
      const queue = await open({ attempts: 2 });
      const log = record(queue);
      let runs = 0;
      await work(queue, async () => {
        runs++;
        throw new Error("always broken");
      });
      await queue.enqueue({ proofId: "proof-broken" });
      await until(() => log.failed.length === 1, Boolean, { what: "the failure" });
      await untilIdle(queue);
      assert.equal(runs, 2);
      assert.deepEqual(log.failed, [{ jobId: "proof-broken", reason: "always broken" }]);
      assert.deepEqual(log.completed, []);
    });

    test("a ProofgateError that is not retryable fails the job at once though attempts remain", async () => {
      const queue = await open({ attempts: 5 });
      const log = record(queue);
      let runs = 0;
      await work(queue, async () => {
        runs++;
        throw new ProofgateError("internal", "witness does not satisfy the circuit");
      });
      await queue.enqueue({ proofId: "proof-bad" });
      await until(() => log.failed.length === 1, Boolean, { what: "the failure" });
      await untilIdle(queue);
      assert.equal(runs, 1);
      assert.deepEqual(log.failed, [{ jobId: "proof-bad", reason: "witness does not satisfy the circuit" }]);
    });

    test("a flow's parent runs once, after every child completed; enqueueing it twice changes nothing", async () => {
      const queue = await open();
      const log = record(queue);
      const parent = { payload: { proofId: "proof-seq" } };
      const children = [0, 1, 2, 3].map((step) => ({ payload: { proofId: "proof-seq", step } }));
      assert.deepEqual(await queue.enqueueFlow(parent, children), {
        parentId: "proof-seq",
        childIds: ["proof-seq#0", "proof-seq#1", "proof-seq#2", "proof-seq#3"],
      });
      await queue.enqueueFlow(parent, children);
      assert.deepEqual(await queue.counts(), { waiting: 4, active: 0, delayed: 0, waitingChildren: 1 });

      const events: string[] = [];
      await work(
        queue,
        async (job) => {
          events.push(`start ${job.role} ${job.id}`);
          await sleep(job.role === "child" ? 20 + 10 * (job.payload.step ?? 0) : 5);
          events.push(`end ${job.role} ${job.id}`);
        },
        { concurrency: 4 },
      );
      await until(() => log.completed.includes("proof-seq"), Boolean, { what: "the parent's completion" });
      await untilIdle(queue);
      const parentStarts = events.filter((e) => e === "start parent proof-seq");
      assert.equal(parentStarts.length, 1, events.join("\n"));
      const parentStart = events.indexOf("start parent proof-seq");
      for (const child of ["proof-seq#0", "proof-seq#1", "proof-seq#2", "proof-seq#3"]) {
        assert.equal(events.filter((e) => e === `start child ${child}`).length, 1, `${child} ran once`);
        assert.ok(events.indexOf(`end child ${child}`) < parentStart, `${child} finished before the parent started`);
      }
      assert.equal(log.completed.length, 5);
    });

    test("lower priorities run first, equal ones in arrival order, flow children included; a bad priority is refused", async () => {
      const queue = await open();
      const log = record(queue);
      // a long flow's later steps, then short work that arrives after them and must overtake them
      await queue.enqueueFlow(
        { payload: { proofId: "long" }, priority: 1 },
        [3, 4, 5].map((step) => ({ payload: { proofId: "long", step }, priority: step + 1 })),
      );
      await queue.enqueue({ proofId: "short-a" }, { priority: 1 });
      await queue.enqueue({ proofId: "short-b" }, { priority: 2 });
      await queue.enqueue({ proofId: "batch" }, { priority: 1_000 });
      await queue.enqueue({ proofId: "short-c" }, { priority: 1 });
      const order: string[] = [];
      await work(queue, async (job) => void order.push(job.id), { concurrency: 1 });
      await until(() => log.completed.length === 8, Boolean, { what: "every job" });
      assert.deepEqual(order, ["short-a", "short-c", "short-b", "long#3", "long#4", "long#5", "long", "batch"]);
      for (const priority of [0, -1, 1.5, 2 ** 22]) {
        await assert.rejects(queue.enqueue({ proofId: "bad" }, { priority }), (err) =>
          isProofgateError(err, "invalid_argument"),
        );
      }
    });

    test("a child that fails for good fails its parent, which never runs", async () => {
      const queue = await open({ attempts: 1 });
      const log = record(queue);
      const ran: string[] = [];
      await work(queue, async (job) => {
        ran.push(job.id);
        if (job.payload.step === 1) throw new ProofgateError("internal", "step 1 cannot be proved");
      });
      await queue.enqueueFlow(
        { payload: { proofId: "proof-f" } },
        [0, 1, 2].map((step) => ({ payload: { proofId: "proof-f", step } })),
      );
      await until(() => log.failed.some((f) => f.jobId === "proof-f"), Boolean, { what: "the parent's failure" });
      await untilIdle(queue); // the failed child's siblings may still run; the failed parent must not
      assert.ok(!ran.includes("proof-f"), "the parent must not run");
      assert.deepEqual(log.failed.map((f) => f.jobId).sort(), ["proof-f", "proof-f#1"]);
    });

    test("graceful close finishes the job in flight and takes no other", async () => {
      const queue = await open();
      const log = record(queue);
      const started = deferred();
      const ran: string[] = [];
      const worker = await work(queue, async (job) => {
        ran.push(job.id);
        started.resolve();
        await sleep(150);
      });
      await queue.enqueue({ proofId: "proof-1" });
      await started.promise;
      await queue.enqueue({ proofId: "proof-2" });
      const closing = worker.close();
      assert.equal(worker.close(), closing, "a second close returns the first one's promise");
      await closing;
      await until(() => log.completed.length === 1, Boolean, { what: "the in-flight completion" });
      assert.deepEqual(log.completed, ["proof-1"]);
      assert.deepEqual(ran, ["proof-1"]);
      // proof-2 still waits: the closed worker took nothing after its job in flight
      assert.deepEqual(await queue.counts(), { waiting: 1, active: 0, delayed: 0, waitingChildren: 0 });
    });

    test("a worker that dies mid-job (force close) loses it to another worker, which completes it once", async () => {
      const queue = await open();
      const other = await opened!.openAnother();
      const log = record(queue);
      const started = deferred();
      let deadRuns = 0;
      const dead = await work(
        queue,
        async () => {
          deadRuns++;
          started.resolve();
          await new Promise<never>(() => {}); // never settles: the process "died"
        },
        options.shortLock,
      );
      await queue.enqueue({ proofId: "proof-orphan" });
      await started.promise;
      await dead.close(true);

      const ran: JobContext[] = [];
      await work(other, async (job) => void ran.push(job), options.shortLock);
      await until(() => log.completed.length === 1 && log.stalled.length === 1, Boolean, {
        what: "the stall and the completion by the second worker",
      });
      await untilIdle(queue);
      assert.equal(deadRuns, 1);
      assert.equal(ran.length, 1);
      assert.equal(ran[0].id, "proof-orphan");
      assert.equal(ran[0].attempt, 1, "a stall is not a failed attempt");
      assert.deepEqual(log.completed, ["proof-orphan"]);
      assert.deepEqual(log.stalled, ["proof-orphan"]);
      assert.deepEqual(log.failed, []);
    });

    test("close is safe to call twice and refuses work afterwards", async () => {
      const queue = await open();
      await work(queue, async () => {});
      await Promise.all([queue.close(), queue.close()]);
      await queue.close();
      await assert.rejects(queue.enqueue({ proofId: "proof-late" }), (err) => isProofgateError(err, "not_ready"));
    });
  });
}
