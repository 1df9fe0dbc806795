/**
 * The in-process JobQueue: the embedded mode's queue when no Redis answers, and the fake twin in
 * tests. Same semantics as the BullMQ one (idempotent ids, flows, concurrency, retries with
 * exponential backoff, unrecoverable errors, graceful and forced close). Its jobs live in this
 * process only; after a restart the store's re-enqueue sweep brings pending records back.
 */
import { isRetryable, ProofgateError } from "../core/errors.js";
import { JobQueueEmitter } from "./job-queue-emitter.js";
import {
  assertJobId,
  assertPayload,
  backoffDelayMs,
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

export type MemoryJobQueueOptions = JobQueueOptions;

type MemoryJobState = "waiting" | "delayed" | "active" | "waiting-children";

interface MemoryJob {
  readonly id: string;
  readonly payload: ProofJobPayload;
  readonly role: JobRole;
  readonly priority: number;
  /** Arrival order among equal priorities. */
  readonly seq: number;
  state: MemoryJobState;
  attemptsMade: number;
  stalls: number;
  parentId: string | null;
  readonly pendingChildren: Set<string>;
  /** Bumped at each claim: a settling run whose number is stale was handed back and is ignored. */
  run: number;
  timer: NodeJS.Timeout | null;
}

interface InFlight {
  readonly job: MemoryJob;
  readonly run: number;
  /** Settles once the run's outcome has been applied to the queue. */
  readonly settled: Promise<void>;
}

class MemoryJobWorker implements JobWorker {
  readonly inFlight = new Map<string, InFlight>();
  #closing: Promise<void> | null = null;

  constructor(
    private readonly queue: MemoryJobQueue,
    readonly handler: JobHandler,
    readonly options: Required<ProcessOptions>,
  ) {}

  get accepting(): boolean {
    return this.#closing === null && this.inFlight.size < this.options.concurrency;
  }

  close(force = false): Promise<void> {
    if (this.#closing !== null) return this.#closing;
    const pending = force ? [] : [...this.inFlight.values()].map((f) => f.settled);
    if (force) for (const flight of [...this.inFlight.values()]) this.queue.handBack(this, flight);
    this.#closing = Promise.allSettled(pending).then(() => this.queue.detach(this));
    return this.#closing;
  }
}

export class MemoryJobQueue extends JobQueueEmitter implements JobQueue {
  readonly #options: Required<JobQueueOptions>;
  readonly #jobs = new Map<string, MemoryJob>();
  /** Waiting job ids, lowest (priority, arrival) first. */
  readonly #waiting: string[] = [];
  #seq = 0;
  readonly #workers: MemoryJobWorker[] = [];
  #nextWorker = 0;
  #closing: Promise<void> | null = null;

  constructor(options: MemoryJobQueueOptions = {}) {
    super();
    this.#options = resolveJobQueueOptions(options);
  }

  async enqueue(payload: ProofJobPayload, options: EnqueueOptions = {}): Promise<EnqueueResult> {
    this.#assertOpen();
    assertPayload(payload);
    const jobId = options.jobId ?? jobIdFor(payload);
    assertJobId(jobId);
    const priority = jobPriority(options.priority);
    if (!this.#jobs.has(jobId)) this.#add(jobId, payload, "standalone", null, priority);
    this.#pump();
    return { jobId };
  }

  async enqueueFlow(parent: JobSpec, children: readonly JobSpec[]): Promise<EnqueueFlowResult> {
    this.#assertOpen();
    const ids = resolveFlowIds(parent, children);
    let parentJob = this.#jobs.get(ids.parentId);
    if (!parentJob) {
      parentJob = this.#add(
        ids.parentId,
        parent.payload,
        "parent",
        null,
        jobPriority(parent.priority, "parent.priority"),
      );
      // Held back until its children are in (an empty flow's parent runs at once).
      this.#unqueue(parentJob.id);
      parentJob.state = "waiting-children";
    }
    const attachTo = parentJob.state === "waiting-children" ? parentJob : null;
    children.forEach((child, i) => {
      const id = ids.childIds[i];
      if (this.#jobs.has(id)) return;
      this.#add(
        id,
        child.payload,
        "child",
        attachTo?.id ?? null,
        jobPriority(child.priority, `children[${i}].priority`),
      );
      attachTo?.pendingChildren.add(id);
    });
    if (attachTo && attachTo.pendingChildren.size === 0) this.#makeWaiting(attachTo);
    this.#pump();
    return ids;
  }

  async process(handler: JobHandler, options: ProcessOptions = {}): Promise<JobWorker> {
    this.#assertOpen();
    const worker = new MemoryJobWorker(this, handler, resolveProcessOptions(options));
    this.#workers.push(worker);
    this.#pump();
    return worker;
  }

  async counts(): Promise<JobCounts> {
    const counts = { waiting: 0, active: 0, delayed: 0, waitingChildren: 0 };
    for (const job of this.#jobs.values()) {
      if (job.state === "waiting") counts.waiting++;
      else if (job.state === "active") counts.active++;
      else if (job.state === "delayed") counts.delayed++;
      else counts.waitingChildren++;
    }
    return counts;
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      await Promise.allSettled([...this.#workers].map((w) => w.close()));
      for (const job of this.#jobs.values()) if (job.timer) clearTimeout(job.timer);
      this.#jobs.clear();
      this.#waiting.length = 0;
      this.removeAllListeners();
    })();
    return this.#closing;
  }

  /** Force close: the run is abandoned and the job goes back to waiting for another worker. */
  handBack(worker: MemoryJobWorker, flight: InFlight): void {
    worker.inFlight.delete(flight.job.id);
    const job = flight.job;
    if (this.#jobs.get(job.id) !== job || job.run !== flight.run) return;
    job.run++;
    job.stalls++;
    if (job.stalls > worker.options.maxStalledCount) {
      this.#fail(job, "job stalled more than allowable limit");
    } else {
      this.emit("stalled", { jobId: job.id });
      job.state = "waiting";
      this.#waiting.unshift(job.id);
    }
    queueMicrotask(() => this.#pump());
  }

  detach(worker: MemoryJobWorker): void {
    const index = this.#workers.indexOf(worker);
    if (index >= 0) this.#workers.splice(index, 1);
  }

  #assertOpen(): void {
    if (this.#closing !== null) throw new ProofgateError("not_ready", "the job queue is closed");
  }

  #add(id: string, payload: ProofJobPayload, role: JobRole, parentId: string | null, priority: number): MemoryJob {
    const job: MemoryJob = {
      id,
      payload: { ...payload },
      role,
      priority,
      seq: this.#seq++,
      state: "waiting",
      attemptsMade: 0,
      stalls: 0,
      parentId,
      pendingChildren: new Set(),
      run: 0,
      timer: null,
    };
    this.#jobs.set(id, job);
    this.#queueWaiting(job);
    return job;
  }

  /** Inserts a job among the waiting ones by (priority, arrival), as BullMQ orders prioritized jobs. */
  #queueWaiting(job: MemoryJob): void {
    const before = (other: MemoryJob) =>
      job.priority < other.priority || (job.priority === other.priority && job.seq < other.seq);
    let lo = 0;
    let hi = this.#waiting.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const other = this.#jobs.get(this.#waiting[mid]!);
      if (other && before(other)) hi = mid;
      else lo = mid + 1;
    }
    this.#waiting.splice(lo, 0, job.id);
  }

  #unqueue(id: string): void {
    const index = this.#waiting.indexOf(id);
    if (index >= 0) this.#waiting.splice(index, 1);
  }

  #makeWaiting(job: MemoryJob): void {
    job.state = "waiting";
    job.timer = null;
    this.#queueWaiting(job);
  }

  /** Hands waiting jobs to workers with a free slot, taking workers in turn so they share the load. */
  #pump(): void {
    while (this.#waiting.length > 0 && this.#closing === null) {
      const worker = this.#pickWorker();
      if (!worker) return;
      const job = this.#jobs.get(this.#waiting.shift()!);
      if (job && job.state === "waiting") this.#start(job, worker);
    }
  }

  #pickWorker(): MemoryJobWorker | null {
    for (let i = 0; i < this.#workers.length; i++) {
      const worker = this.#workers[(this.#nextWorker + i) % this.#workers.length];
      if (worker.accepting) {
        this.#nextWorker = (this.#workers.indexOf(worker) + 1) % this.#workers.length;
        return worker;
      }
    }
    return null;
  }

  #start(job: MemoryJob, worker: MemoryJobWorker): void {
    job.state = "active";
    const run = ++job.run;
    const context = {
      id: job.id,
      payload: { ...job.payload },
      role: job.role,
      attempt: job.attemptsMade + 1,
      maxAttempts: this.#options.attempts,
    };
    const settled = Promise.resolve()
      .then(() => worker.handler(context))
      .then(
        () => this.#settle(worker, job, run, null),
        (err: unknown) => this.#settle(worker, job, run, err instanceof Error ? err : new Error(String(err))),
      );
    worker.inFlight.set(job.id, { job, run, settled });
  }

  #settle(worker: MemoryJobWorker, job: MemoryJob, run: number, error: Error | null): void {
    if (job.run !== run || this.#jobs.get(job.id) !== job) return; // handed back: another run owns it
    worker.inFlight.delete(job.id);
    if (error === null) this.#complete(job);
    else this.#retryOrFail(job, error);
    this.#pump();
  }

  #complete(job: MemoryJob): void {
    this.#jobs.delete(job.id);
    this.emit("completed", { jobId: job.id });
    const parent = job.parentId === null ? undefined : this.#jobs.get(job.parentId);
    if (
      parent &&
      parent.state === "waiting-children" &&
      parent.pendingChildren.delete(job.id) &&
      parent.pendingChildren.size === 0
    ) {
      this.#makeWaiting(parent);
    }
  }

  #retryOrFail(job: MemoryJob, error: Error): void {
    job.attemptsMade++;
    if (!isRetryable(error) || job.attemptsMade >= this.#options.attempts) {
      this.#fail(job, error.message);
      return;
    }
    job.state = "delayed";
    job.timer = setTimeout(
      () => {
        if (this.#jobs.get(job.id) !== job) return;
        this.#makeWaiting(job);
        this.#pump();
      },
      backoffDelayMs(this.#options.backoffMs, job.attemptsMade),
    );
  }

  #fail(job: MemoryJob, reason: string): void {
    this.#jobs.delete(job.id);
    if (job.timer) clearTimeout(job.timer);
    this.#unqueue(job.id);
    this.emit("failed", { jobId: job.id, reason });
    const parent = job.parentId === null ? undefined : this.#jobs.get(job.parentId);
    if (parent && parent.state === "waiting-children") this.#fail(parent, `child ${job.id} failed: ${reason}`);
  }
}
