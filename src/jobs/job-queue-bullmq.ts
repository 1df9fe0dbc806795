/**
 * The JobQueue on BullMQ and Redis: the gateway enqueues, `proofgate worker` processes on any machine
 * with the same `REDIS_URL`. Producer, consumer and observer stay BullMQ's separate classes: `Queue`
 * adds and counts, `FlowProducer` adds completions (parent + one child per step), `Worker` runs
 * handlers, `QueueEvents` reports completed/failed/stalled from every process. A killed worker's
 * lock runs out and another worker's stalled check hands its job on (`lockMs`, `stalledIntervalMs`).
 * This is the only file that imports bullmq (STYLE §2); ioredis comes through it, from the URL.
 */
import {
  FlowProducer,
  Queue,
  QueueEvents,
  UnrecoverableError,
  Worker,
  type ConnectionOptions,
  type Job,
  type JobsOptions,
} from "bullmq";
import { isRetryable, ProofgateError } from "../core/errors.js";
import { urlForLogs } from "../core/secret.js";
import { JobQueueEmitter } from "./job-queue-emitter.js";
import {
  assertJobId,
  assertPayload,
  assertPositiveInteger,
  jobIdFor,
  jobPriority,
  resolveFlowIds,
  resolveJobQueueOptions,
  resolveProcessOptions,
  type EnqueueFlowResult,
  type EnqueueOptions,
  type EnqueueResult,
  type JobCounts,
  type JobHandler,
  type JobQueue,
  type JobQueueOptions,
  type JobRole,
  type JobSpec,
  type JobWorker,
  type ProcessOptions,
  type ProofJobPayload,
} from "./job-queue.js";

export interface BullmqJobQueueOptions extends JobQueueOptions {
  /** `redis://[user:password@]host:port[/db]` or `rediss://…`. @defaultValue "redis://127.0.0.1:6379" */
  readonly url?: string;
  /** @defaultValue "proofs" */
  readonly name?: string;
  /** Redis key prefix: one per deployment (tests use one per run). @defaultValue "proofgate" */
  readonly prefix?: string;
  /** How long `open` waits for Redis before failing with `not_ready`. @defaultValue 5000 */
  readonly connectTimeoutMs?: number;
}

export const BULLMQ_DEFAULTS = {
  url: "redis://127.0.0.1:6379",
  name: "proofs",
  prefix: "proofgate",
  connectTimeoutMs: 5000,
} as const;

const ROLES: ReadonlySet<string> = new Set<JobRole>(["standalone", "child", "parent"]);

/** The id of the newest entry of a stream, or "0-0": where QueueEvents starts, so no event after `open` is missed. */
const LAST_EVENT_ID_SCRIPT = {
  numberOfKeys: 1,
  readOnly: true,
  lua: "local e = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1) if e[1] then return e[1][1] end return '0-0'",
};

function toError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

class BullmqJobWorker implements JobWorker {
  #closing: Promise<void> | null = null;

  constructor(
    readonly worker: Worker<ProofJobPayload>,
    private readonly onClosed: (worker: BullmqJobWorker) => void,
  ) {}

  close(force = false): Promise<void> {
    this.#closing ??= this.worker.close(force).finally(() => this.onClosed(this));
    return this.#closing;
  }
}

export class BullmqJobQueue extends JobQueueEmitter implements JobQueue {
  readonly name: string;
  readonly prefix: string;
  readonly #url: string;
  readonly #jobOptions: JobsOptions;
  readonly #queue: Queue<ProofJobPayload>;
  #events: QueueEvents | null = null;
  #flows: FlowProducer | null = null;
  readonly #workers = new Set<BullmqJobWorker>();
  #closing: Promise<void> | null = null;

  private constructor(options: BullmqJobQueueOptions) {
    super();
    const { attempts, backoffMs } = resolveJobQueueOptions(options);
    this.#url = options.url ?? BULLMQ_DEFAULTS.url;
    this.name = options.name ?? BULLMQ_DEFAULTS.name;
    this.prefix = options.prefix ?? BULLMQ_DEFAULTS.prefix;
    // Finished jobs are removed at once: the store keeps the outcome, and a freed id lets the
    // re-enqueue sweep bring back a record whose job was lost or failed by a stall.
    this.#jobOptions = {
      attempts,
      backoff: { type: "exponential", delay: backoffMs },
      removeOnComplete: true,
      removeOnFail: true,
    };
    this.#queue = new Queue<ProofJobPayload>(this.name, { connection: this.#connection(), prefix: this.prefix });
    this.#queue.on("error", (err) => this.emit("error", toError(err)));
  }

  /** Connects, and starts listening to the queue's events; fails with `not_ready` when Redis does not answer in time. */
  static async open(options: BullmqJobQueueOptions = {}): Promise<BullmqJobQueue> {
    const connectTimeoutMs = options.connectTimeoutMs ?? BULLMQ_DEFAULTS.connectTimeoutMs;
    assertPositiveInteger(connectTimeoutMs, "connectTimeoutMs");
    const queue = new BullmqJobQueue(options);
    let timer: NodeJS.Timeout | undefined;
    let lastError: Error | null = null;
    const noteError = (err: Error) => {
      lastError = err;
    };
    queue.on("error", noteError);
    try {
      await Promise.race([
        queue.#listen(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => {
            const why = lastError ? `; last error: ${lastError.message}` : "";
            reject(new Error(`no answer within ${connectTimeoutMs} ms${why}`));
          }, connectTimeoutMs);
        }),
      ]);
      return queue;
    } catch (err) {
      await queue.#disconnect();
      throw new ProofgateError(
        "not_ready",
        `job queue: Redis at ${urlForLogs(queue.#url)} is not reachable (${toError(err).message})`,
        {
          cause: err,
          retryable: true,
        },
      );
    } finally {
      clearTimeout(timer);
      queue.off("error", noteError);
    }
  }

  async enqueue(payload: ProofJobPayload, options: EnqueueOptions = {}): Promise<EnqueueResult> {
    this.#assertOpen();
    assertPayload(payload);
    const jobId = options.jobId ?? jobIdFor(payload);
    assertJobId(jobId);
    // every job carries a priority: BullMQ runs jobs without one before all prioritized ones
    await this.#queue.add("standalone", payload, {
      ...this.#jobOptions,
      jobId,
      priority: jobPriority(options.priority),
    });
    return { jobId };
  }

  async enqueueFlow(parent: JobSpec, children: readonly JobSpec[]): Promise<EnqueueFlowResult> {
    this.#assertOpen();
    const ids = resolveFlowIds(parent, children);
    this.#flows ??= this.#newFlowProducer();
    await this.#flows.add({
      name: "parent",
      queueName: this.name,
      data: parent.payload,
      opts: { ...this.#jobOptions, jobId: ids.parentId, priority: jobPriority(parent.priority, "parent.priority") },
      children: children.map((child, i) => ({
        name: "child",
        queueName: this.name,
        data: child.payload,
        opts: {
          ...this.#jobOptions,
          jobId: ids.childIds[i],
          failParentOnFailure: true,
          priority: jobPriority(child.priority, `children[${i}].priority`),
        },
      })),
    });
    return ids;
  }

  async process(handler: JobHandler, options: ProcessOptions = {}): Promise<JobWorker> {
    this.#assertOpen();
    const { concurrency, lockMs, stalledIntervalMs, maxStalledCount } = resolveProcessOptions(options);
    const processor = async (job: Job<ProofJobPayload>): Promise<void> => {
      const role = (ROLES.has(job.name) ? job.name : "standalone") as JobRole;
      try {
        await handler({
          id: job.id!,
          payload: job.data,
          role,
          attempt: job.attemptsMade + 1,
          maxAttempts: job.opts.attempts ?? 1,
        });
      } catch (err) {
        // the one place an error no retry can fix becomes BullMQ's
        if (!isRetryable(err)) throw new UnrecoverableError(toError(err).message);
        throw toError(err);
      }
    };
    const worker = new Worker<ProofJobPayload>(this.name, processor, {
      connection: this.#connection(),
      prefix: this.prefix,
      concurrency,
      lockDuration: lockMs,
      stalledInterval: stalledIntervalMs,
      maxStalledCount,
      autorun: true,
    });
    worker.on("error", (err) => this.emit("error", toError(err)));
    const handle = new BullmqJobWorker(worker, (w) => this.#workers.delete(w));
    this.#workers.add(handle);
    try {
      await worker.waitUntilReady();
    } catch (err) {
      await handle.close(true);
      throw new ProofgateError("not_ready", `job queue: worker could not connect to ${urlForLogs(this.#url)}`, {
        cause: err,
        retryable: true,
      });
    }
    return handle;
  }

  async counts(): Promise<JobCounts> {
    const c = await this.#queue.getJobCounts("wait", "paused", "prioritized", "active", "delayed", "waiting-children");
    return {
      waiting: (c.wait ?? 0) + (c.paused ?? 0) + (c.prioritized ?? 0),
      active: c.active ?? 0,
      delayed: c.delayed ?? 0,
      waitingChildren: c["waiting-children"] ?? 0,
    };
  }

  /** Deletes every key of this queue (its jobs, events and metadata), active jobs included: for tests and operators. */
  async obliterate(): Promise<void> {
    await this.#queue.obliterate({ force: true });
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      await Promise.allSettled([...this.#workers].map((w) => w.close()));
      const steps = [() => this.#flows?.close(), () => this.#events?.close(), () => this.#queue.close()];
      for (const step of steps) {
        try {
          await step();
        } catch (err) {
          this.emit("error", toError(err));
        }
      }
      this.removeAllListeners();
    })();
    return this.#closing;
  }

  #connection(): ConnectionOptions {
    return { url: this.#url };
  }

  #assertOpen(): void {
    if (this.#closing !== null) throw new ProofgateError("not_ready", "the job queue is closed");
  }

  #newFlowProducer(): FlowProducer {
    const flows = new FlowProducer({ connection: this.#connection(), prefix: this.prefix });
    flows.on("error", (err) => this.emit("error", toError(err)));
    return flows;
  }

  async #listen(): Promise<void> {
    const client = await this.#queue.waitUntilReady();
    if (this.#closing !== null) return;
    client.defineCommand("proofgateLastEventId", LAST_EVENT_ID_SCRIPT);
    const lastEventId = String(await client.runCommand("proofgateLastEventId", [this.#queue.keys.events]));
    const events = new QueueEvents(this.name, {
      connection: this.#connection(),
      prefix: this.prefix,
      lastEventId,
      autorun: true,
    });
    this.#events = events;
    events.on("error", (err) => this.emit("error", toError(err)));
    events.on("completed", ({ jobId }) => this.emit("completed", { jobId }));
    events.on("failed", ({ jobId, failedReason }) => this.emit("failed", { jobId, reason: failedReason }));
    events.on("stalled", ({ jobId }) => this.emit("stalled", { jobId }));
    await events.waitUntilReady();
  }

  /** Drops every connection without waiting for Redis: for an `open` that failed. */
  async #disconnect(): Promise<void> {
    this.#closing ??= Promise.resolve();
    // A connection still initializing is dropped at once by close(); disconnect() would wait for it.
    await Promise.allSettled([this.#queue.close(), this.#events?.close()]);
  }
}
