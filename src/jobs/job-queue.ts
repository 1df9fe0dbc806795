/**
 * The job-queue port (issue 5): proof jobs leave the request path through a queue that the gateway
 * fills and that any number of workers, on any number of machines, drain. Payloads stay small
 * (`{ proofId, step? }`): the store holds everything else and is the source of truth, so the queue
 * can be rebuilt from it. Implementations: BullMQ on Redis (`job-queue-bullmq.ts`) and an in-process
 * twin for the embedded mode (`job-queue-memory.ts`); one conformance suite (test/jobs/) holds them
 * to the same behaviour. Stages depend on this file, never on an implementation.
 */
import { ProofgateError } from "../core/errors.js";

/** What a job carries: the record to work on and, for one decoding step of a sequence, its index. */
export interface ProofJobPayload {
  readonly proofId: string;
  readonly step?: number;
}

/**
 * `standalone`: a job enqueued on its own. `child`: one job of a flow (a decoding step). `parent`: the
 * job of a flow that runs once, after all its children completed (checks the chain and finalizes).
 */
export type JobRole = "standalone" | "child" | "parent";

/** What a handler is given for one run of a job. */
export interface JobContext {
  readonly id: string;
  readonly payload: ProofJobPayload;
  readonly role: JobRole;
  /** 1 on the first run, one more after each failed run. A run after a stall keeps the number. */
  readonly attempt: number;
  /** Runs the queue allows a job before it fails for good: `attempt === maxAttempts` is the last try. */
  readonly maxAttempts: number;
}

/**
 * Does the work of one job. Resolving completes it. Throwing an error no retry can fix (a
 * ProofgateError that is not `retryable`: a proof that can never succeed) fails it at once; any
 * other error (a Redis or RPC blip) retries it with backoff until the queue's `attempts` are spent.
 */
export type JobHandler = (job: JobContext) => Promise<void>;

export interface EnqueueOptions {
  /**
   * Idempotency key: while a job with this id is pending (waiting, delayed, active or waiting for its
   * children), enqueueing it again adds nothing. Once it completed or failed for good the id is free
   * again, so the store's re-enqueue sweep can always bring a record back; workers make the repeat
   * harmless by claiming the record with a compare-and-set. Must not contain ":" nor be an integer.
   * @defaultValue `jobIdFor(payload)`
   */
  readonly jobId?: string;
  /** Lower runs sooner; equal priorities run in the order they came (see `jobPriority`). @defaultValue 1 */
  readonly priority?: number;
}

export interface EnqueueResult {
  readonly jobId: string;
}

/** One job of a flow. */
export interface JobSpec {
  readonly payload: ProofJobPayload;
  /** @defaultValue `jobIdFor(payload)` */
  readonly jobId?: string;
  /** As `EnqueueOptions.priority`. @defaultValue 1 */
  readonly priority?: number;
}

export interface EnqueueFlowResult {
  readonly parentId: string;
  readonly childIds: string[];
}

export interface ProcessOptions {
  /** Jobs this worker runs at once (one proof uses about one core). @defaultValue 1 */
  readonly concurrency?: number;
  /**
   * How long a worker's claim on a job lasts unless renewed. A live worker renews it while the handler
   * runs, so only a dead worker's job outlives it and goes to another worker. In-process: unused (a
   * worker there cannot die without its queue). @defaultValue 30000
   */
  readonly lockMs?: number;
  /** How often this worker looks for jobs whose claim ran out. In-process: unused. @defaultValue lockMs */
  readonly stalledIntervalMs?: number;
  /** Times a job may lose its worker and be handed to another before it fails for good. @defaultValue 1 */
  readonly maxStalledCount?: number;
}

export interface JobWorker {
  /**
   * Stops taking jobs. Graceful (the default): waits for the jobs in flight to finish. `force`: hands
   * them back at once without waiting (in-process they go straight back to waiting; on BullMQ they go
   * to another worker once their claim runs out, as if this process had died). Safe to call twice;
   * a second call returns the first call's promise.
   */
  close(force?: boolean): Promise<void>;
}

/** Jobs by state, across every worker and machine sharing the queue. Finished jobs are not kept. */
export interface JobCounts {
  readonly waiting: number;
  readonly active: number;
  /** Waiting out a retry backoff. */
  readonly delayed: number;
  /** Flow parents whose children have not all completed. */
  readonly waitingChildren: number;
}

/** Events of the whole queue (on BullMQ: from every process sharing it). */
export interface JobQueueEvents {
  /** A job's handler resolved; it will not run again. */
  completed: (event: { readonly jobId: string }) => void;
  /**
   * A job failed for good: an unrecoverable error, its attempts spent, too many stalls, or (for a flow
   * parent) a child that failed for good. Runs that will be retried emit nothing.
   */
  failed: (event: { readonly jobId: string; readonly reason: string }) => void;
  /** A job lost its worker (claim ran out, or the worker was force-closed) and went back to waiting. */
  stalled: (event: { readonly jobId: string }) => void;
  /** An error the queue survived (a dropped connection it will retry); never thrown when unheard. */
  error: (error: Error) => void;
}

export type JobQueueEventName = keyof JobQueueEvents;

export interface JobQueue {
  enqueue(payload: ProofJobPayload, options?: EnqueueOptions): Promise<EnqueueResult>;
  /**
   * A completion: `parent` runs once, after every child completed; a child that fails for good fails
   * the parent without running it. Idempotent per job id, as `enqueue`.
   */
  enqueueFlow(parent: JobSpec, children: readonly JobSpec[]): Promise<EnqueueFlowResult>;
  /** Starts a worker on this queue; several may run in one process and in many processes. */
  process(handler: JobHandler, options?: ProcessOptions): Promise<JobWorker>;
  counts(): Promise<JobCounts>;
  on<E extends JobQueueEventName>(event: E, listener: JobQueueEvents[E]): this;
  once<E extends JobQueueEventName>(event: E, listener: JobQueueEvents[E]): this;
  off<E extends JobQueueEventName>(event: E, listener: JobQueueEvents[E]): this;
  /** Closes this handle's workers gracefully, then its connections. Safe to call twice. */
  close(): Promise<void>;
}

/** Options every implementation takes. */
export interface JobQueueOptions {
  /** Runs of a job, the first included, before it fails for good. @defaultValue 3 */
  readonly attempts?: number;
  /** Delay before the first retry; each later retry doubles it. @defaultValue 1000 */
  readonly backoffMs?: number;
}

export const JOB_QUEUE_DEFAULTS = { attempts: 3, backoffMs: 1000 } as const;
export const PROCESS_DEFAULTS = { concurrency: 1, lockMs: 30_000, maxStalledCount: 1 } as const;

/** BullMQ's largest priority (2^21). */
export const MAX_JOB_PRIORITY = 2_097_152;

/** A priority checked against the range both implementations take. */
export function jobPriority(priority: number | undefined, param = "priority"): number {
  const value = priority ?? 1;
  if (!Number.isInteger(value) || value < 1 || value > MAX_JOB_PRIORITY) {
    throw new ProofgateError(
      "invalid_argument",
      `${param} must be an integer in 1..${MAX_JOB_PRIORITY}; got ${String(priority)}`,
      { param },
    );
  }
  return value;
}

/** The job id for a payload: the proof id, or `proofId#step` for one step (BullMQ forbids ":"). */
export function jobIdFor(payload: ProofJobPayload): string {
  return payload.step === undefined ? payload.proofId : `${payload.proofId}#${payload.step}`;
}

/** Delay before the retry that follows failed run number `attemptsMade` (1-based), as BullMQ's exponential backoff. */
export function backoffDelayMs(backoffMs: number, attemptsMade: number): number {
  return Math.round(backoffMs * 2 ** (attemptsMade - 1));
}

export function assertPayload(payload: ProofJobPayload, param = "payload"): void {
  if (typeof payload?.proofId !== "string" || payload.proofId === "") {
    throw new ProofgateError(
      "invalid_argument",
      `${param}.proofId must be a non-empty string; got ${JSON.stringify(payload?.proofId)}`,
      {
        param: `${param}.proofId`,
      },
    );
  }
  if (payload.step !== undefined && !(Number.isInteger(payload.step) && payload.step >= 0)) {
    throw new ProofgateError("invalid_argument", `${param}.step must be an integer ≥ 0; got ${String(payload.step)}`, {
      param: `${param}.step`,
    });
  }
}

/** BullMQ's rules for custom ids, applied by both implementations so they accept the same ids. */
export function assertJobId(jobId: string, param = "jobId"): void {
  if (typeof jobId !== "string" || jobId === "") {
    throw new ProofgateError("invalid_argument", `${param} must be a non-empty string; got ${JSON.stringify(jobId)}`, {
      param,
    });
  }
  if (jobId.includes(":")) {
    throw new ProofgateError("invalid_argument", `${param} must not contain ":"; got ${JSON.stringify(jobId)}`, {
      param,
    });
  }
  if (`${parseInt(jobId, 10)}` === jobId) {
    throw new ProofgateError("invalid_argument", `${param} must not be an integer; got ${JSON.stringify(jobId)}`, {
      param,
    });
  }
}

/** Validates a positive integer option, naming it in the message. */
export function assertPositiveInteger(value: number, param: string, minimum = 1): void {
  if (!Number.isInteger(value) || value < minimum) {
    throw new ProofgateError("invalid_argument", `${param} must be an integer ≥ ${minimum}; got ${String(value)}`, {
      param,
    });
  }
}

/** The flow's ids, checked: valid, distinct, and the parent not among its children. */
export function resolveFlowIds(parent: JobSpec, children: readonly JobSpec[]): EnqueueFlowResult {
  assertPayload(parent.payload, "parent.payload");
  const parentId = parent.jobId ?? jobIdFor(parent.payload);
  assertJobId(parentId, "parent.jobId");
  const seen = new Set([parentId]);
  const childIds = children.map((child, i) => {
    assertPayload(child.payload, `children[${i}].payload`);
    const id = child.jobId ?? jobIdFor(child.payload);
    assertJobId(id, `children[${i}].jobId`);
    if (seen.has(id)) {
      throw new ProofgateError(
        "invalid_argument",
        `children[${i}].jobId ${JSON.stringify(id)} appears twice in the flow`,
        {
          param: `children[${i}].jobId`,
        },
      );
    }
    seen.add(id);
    return id;
  });
  return { parentId, childIds };
}

/** Resolves process options with their defaults and checks them. */
export function resolveProcessOptions(options: ProcessOptions): Required<ProcessOptions> {
  const lockMs = options.lockMs ?? PROCESS_DEFAULTS.lockMs;
  const resolved = {
    concurrency: options.concurrency ?? PROCESS_DEFAULTS.concurrency,
    lockMs,
    stalledIntervalMs: options.stalledIntervalMs ?? lockMs,
    maxStalledCount: options.maxStalledCount ?? PROCESS_DEFAULTS.maxStalledCount,
  };
  assertPositiveInteger(resolved.concurrency, "concurrency");
  assertPositiveInteger(resolved.lockMs, "lockMs");
  assertPositiveInteger(resolved.stalledIntervalMs, "stalledIntervalMs");
  assertPositiveInteger(resolved.maxStalledCount, "maxStalledCount", 0);
  return resolved;
}

/** Resolves queue options with their defaults and checks them. */
export function resolveJobQueueOptions(options: JobQueueOptions): Required<JobQueueOptions> {
  const resolved = {
    attempts: options.attempts ?? JOB_QUEUE_DEFAULTS.attempts,
    backoffMs: options.backoffMs ?? JOB_QUEUE_DEFAULTS.backoffMs,
  };
  assertPositiveInteger(resolved.attempts, "attempts");
  assertPositiveInteger(resolved.backoffMs, "backoffMs", 0);
  return resolved;
}
