/**
 * The proof-job processor end to end on the in-process queue and the memory store, with the shipped
 * compiled models: single inferences (pg-spam) and greedy generations (pg-student) end `proved` with
 * proofs that verify; a served output that is not the proven one fails at once; a retryable error
 * fails after the queue's attempts, handed back to `queued` between them; a dead worker's lease is
 * taken over (a live one's is not); `maxClaims` stops a record from looping; the sweep brings back
 * records whose job was lost or whose worker stopped.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { pino } from "pino";
import { releaseSnarkWorkers } from "../../src/snark/snark-workers.js";
import * as snarkjs from "snarkjs";
import type { Groth16Proof } from "snarkjs";
import type { ProofRecord, ProofStatus } from "../../src/core/proof-record.js";
import { newId } from "../../src/core/ids.js";
import { MemoryJobQueue } from "../../src/jobs/job-queue-memory.js";
import { isProofgateError, isRetryable } from "../../src/core/errors.js";
import type { JobContext, JobHandler, JobQueue, JobWorker } from "../../src/jobs/job-queue.js";
import { argmaxFirst, runIntegerModel, traceIntegerModel } from "../../src/model/integer-model.js";
import { SPAM_FEATURIZER, spamFeatures, type SpamFeaturizerJSON } from "../../src/model/spam-features.js";
import { CompiledCatalog } from "../../src/prover/compiled-catalog.js";
import { loadManifest } from "../../src/model/circuit-manifest.js";
import type { CompiledModel } from "../../src/prover/compiled-model.js";
import { ProofJobProcessor } from "../../src/prover/proof-job.js";
import type {
  GeneratedChoice,
  GenerationProofRequest,
  InferenceProofRequest,
  StepOutput,
} from "../../src/prover/proof-request.js";
import { nonceBitsOf, ProofScheduler } from "../../src/prover/proof-scheduler.js";
import {
  generationContentHash,
  HASHED_NONCE_BITS,
  requestNonce,
  textContentHash,
} from "../../src/core/request-binding.js";
import { ProofSweep } from "../../src/prover/proof-sweep.js";
import type { ProofRecordPatch } from "../../src/store/proof-store.js";
import { MemoryProofStore } from "../../src/store/proof-store-memory.js";
import { decodePublicSignals, expectedPublicSignals } from "../../src/witness/circuit-input.js";
import { decodingStepWindows } from "../../src/witness/step-windows.js";
import { until, untilIdle } from "../fixtures/until.js";

const logger = pino({ level: "silent" });
const EOT = 319;
const UNKNOWN_CIRCUIT = "0".repeat(64);

let catalog: CompiledCatalog;
let spam: CompiledModel;
let student: CompiledModel;
let featurizer: SpamFeaturizerJSON;

before(async () => {
  catalog = await CompiledCatalog.open({ roots: ["artifacts/models"], dirs: [] });
  const load = async (dir: string) => {
    const model = await catalog.get((await loadManifest(dir)).model_id);
    assert.ok(model, `the catalog has ${dir}`);
    return model;
  };
  spam = await load("artifacts/models/pg-spam");
  student = await load("artifacts/models/pg-student");
  featurizer = {
    ...SPAM_FEATURIZER,
    ...(JSON.parse(await readFile("artifacts/models/pg-spam/featurizer.json", "utf8")) as Partial<SpamFeaturizerJSON>),
  };
});

// snarkjs keeps its curve's worker threads alive; without this the file never exits
after(releaseSnarkWorkers);

/** What a worker's claim writes (see ProofJobProcessor.claimSingle): a dead worker got this far. */
const deadClaim = (prover: string) => ({ prover, error: null, timings: { queued: 5 } });

// ---- helpers ----

/** A clock the tests move by hand. */
function fakeClock(start = 1_700_000_000_000) {
  let t = start;
  return {
    now: () => t,
    advance: (ms: number) => {
      t += ms;
    },
  };
}

/** The memory store, with every status move it made (and when, by the store's clock). */
class SpyStore extends MemoryProofStore {
  readonly moves: { id: string; from: ProofStatus; to: ProofStatus; won: boolean; at: number }[] = [];

  constructor(private readonly clock: () => number = Date.now) {
    super({ now: clock });
  }

  override async transition(
    id: string,
    from: ProofStatus,
    to: ProofStatus,
    patch?: ProofRecordPatch,
  ): Promise<ProofRecord | null> {
    const result = await super.transition(id, from, to, patch);
    this.moves.push({ id, from, to, won: result !== null, at: this.clock() });
    return result;
  }
}

/** Every completed/failed event of a queue, so a test can wait for a job's outcome. */
class QueueLog {
  readonly events: { kind: "completed" | "failed"; jobId: string; reason?: string }[] = [];

  constructor(queue: JobQueue) {
    queue.on("completed", ({ jobId }) => this.events.push({ kind: "completed", jobId }));
    queue.on("failed", ({ jobId, reason }) => this.events.push({ kind: "failed", jobId, reason }));
  }

  of(jobId: string) {
    return this.events.filter((e) => e.jobId === jobId);
  }

  async outcome(jobId: string) {
    await until(() => this.of(jobId).length > 0, Boolean, { what: `job ${jobId} to complete or fail` });
    return this.of(jobId)[0];
  }
}

interface Rig {
  readonly store: SpyStore;
  readonly queue: MemoryJobQueue;
  readonly log: QueueLog;
  readonly scheduler: ProofScheduler;
  readonly processor: ProofJobProcessor;
  /** Starts a worker running `handler` (the processor's by default). */
  work(handler?: JobHandler, concurrency?: number): Promise<JobWorker>;
  close(): Promise<void>;
}

function rig(
  options: {
    now?: () => number;
    sleep?: (ms: number) => Promise<void>;
    leaseMs?: number;
    maxClaims?: number;
    attempts?: number;
    prover?: string;
  } = {},
): Rig {
  const store = new SpyStore(options.now);
  const queue = new MemoryJobQueue({ attempts: options.attempts ?? 2, backoffMs: 10 });
  const log = new QueueLog(queue);
  const scheduler = new ProofScheduler({ store, queue, logger });
  const processor = new ProofJobProcessor({
    store,
    catalog,
    logger,
    prover: options.prover ?? "test-prover",
    leaseMs: options.leaseMs,
    maxClaims: options.maxClaims,
    now: options.now,
    sleep: options.sleep,
  });
  return {
    store,
    queue,
    log,
    scheduler,
    processor,
    work: (handler = processor.handler, concurrency = 1) => queue.process(handler, { concurrency }),
    close: () => queue.close(),
  };
}

/** What the gateway serves for a text: the sample, and argmax and logits from the integer model. */
function spamInference(text: string) {
  const sample = Array.from(spamFeatures(text, featurizer));
  const trace = traceIntegerModel(spam.model, sample);
  const logits = Array.from(trace[trace.length - 1]);
  return { sample, served: { argmax: argmaxFirst(logits), logits } };
}

type Served = { argmax: number; logits: number[] };

async function scheduleSpam(
  scheduler: ProofScheduler,
  text: string,
  tamper: (served: Served) => Served = (s) => s,
  circuit = spam.manifest.model_id,
) {
  const { sample, served } = spamInference(text);
  const shown = tamper(served);
  const ref = await scheduler.scheduleInference({
    id: newId("proof"),
    model: "pg-spam",
    circuit: { modelId: circuit, vkeyHash: spam.manifest.vkey_hash },
    endpoint: "/v1/inferences",
    input: { text },
    sample,
    served: shown,
    output: { label: shown.argmax },
    contentHash: textContentHash(text),
    nonceBits: HASHED_NONCE_BITS,
  });
  return { id: ref.id, sample, served: shown };
}

/** Greedy tokens of the integer model after `prompt`, one step window at a time. */
function greedy(prompt: readonly number[], n: number): number[] {
  const context = student.model.input.kind === "tokens" ? student.model.input.context : 0;
  const tokens: number[] = [];
  for (let k = 0; k < n; k++) {
    const window = decodingStepWindows(prompt, [...tokens, 0], context, EOT)[k];
    tokens.push(argmaxFirst(runIntegerModel(student.model, window)));
  }
  return tokens;
}

const bytes = (text: string) => [...Buffer.from(text, "latin1")];

async function scheduleStudent(
  scheduler: ProofScheduler,
  prompts: readonly (readonly number[])[],
  choices: readonly GeneratedChoice[],
) {
  const ref = await scheduler.scheduleGeneration({
    id: newId("proof"),
    model: "pg-student",
    circuit: { modelId: student.manifest.model_id, vkeyHash: student.manifest.vkey_hash },
    endpoint: "/v1/completions",
    promptTokens: prompts,
    padToken: EOT,
    choices,
    temperature: 0,
    maxTokens: Math.max(...choices.map((c) => c.tokens.length)),
    stop: [],
    nonceBits: nonceBitsOf(student.manifest),
  });
  return ref.id;
}

const choice = (index: number, prompt_index: number, tokens: readonly number[]): GeneratedChoice => ({
  index,
  prompt_index,
  tokens,
  text: "",
  finish_reason: "length",
});

async function record(store: MemoryProofStore, id: string): Promise<ProofRecord> {
  const r = await store.get(id);
  assert.ok(r, `record ${id} exists`);
  return r;
}

function context(proofId: string, attempt = 1, maxAttempts = 3, step?: number): JobContext {
  return {
    id: step === undefined ? proofId : `${proofId}#${step}`,
    payload: step === undefined ? { proofId } : { proofId, step },
    role: "standalone",
    attempt,
    maxAttempts,
  };
}

async function assertSingleProved(r: ProofRecord, prover: string): Promise<void> {
  assert.equal(r.status, "proved", r.error ?? undefined);
  assert.equal(r.prover, prover);
  assert.equal(r.error, null);
  assert.ok(r.publicSignals && r.publicSignals.length === spam.manifest.public_signals.length);
  assert.deepEqual(Object.keys(r.timings).sort(), ["prove", "queued", "total", "verify", "witness"]);
  for (const [stage, ms] of Object.entries(r.timings))
    assert.ok(Number.isFinite(ms) && ms >= 0, `timing ${stage} is ${ms}`);
  assert.equal(
    await snarkjs.groth16.verify(spam.vkey, r.publicSignals, r.proof as Groth16Proof),
    true,
    "the stored proof verifies",
  );
}

// ---- 1, 2: proved ----

describe("proving", () => {
  test("a scheduled inference ends proved with a proof that verifies against the verification key", async () => {
    const t = rig();
    try {
      await t.work();
      const { id, sample, served } = await scheduleSpam(
        t.scheduler,
        "Congratulations! You won a FREE cruise, click now to claim your prize",
      );
      assert.deepEqual(await t.log.outcome(id), { kind: "completed", jobId: id });
      const r = await record(t.store, id);
      await assertSingleProved(r, "test-prover");
      assert.equal(r.attempts, 1);
      // the proof is about this very sample, nonce and served class
      const vkey = JSON.parse(await readFile("artifacts/models/pg-spam/verification_key.json", "utf8")) as Record<
        string,
        unknown
      >;
      assert.equal(await snarkjs.groth16.verify(vkey, r.publicSignals!, r.proof as Groth16Proof), true);
      const nonce = BigInt((r.request as InferenceProofRequest).nonce);
      assert.deepEqual(
        r.publicSignals,
        (await expectedPublicSignals(spam.manifest, sample, nonce, served.argmax)).map(String),
      );
      // a forged claim (the other class) does not verify with that proof
      const forged = (await expectedPublicSignals(spam.manifest, sample, nonce, 1 - served.argmax)).map(String);
      assert.equal(await snarkjs.groth16.verify(vkey, forged, r.proof as Groth16Proof), false);
    } finally {
      await t.close();
    }
  });

  test("a greedy generation of two choices ends proved, every step proved and each choice's steps chained", async () => {
    const t = rig();
    try {
      await t.work(undefined, 2);
      const prompts = [bytes("The whale"), bytes("Call me Ishmael. Some years ago")];
      const choices = [choice(0, 0, greedy(prompts[0], 3)), choice(1, 1, greedy(prompts[1], 3))];
      const id = await scheduleStudent(t.scheduler, prompts, choices);
      assert.deepEqual(await t.log.outcome(id), { kind: "completed", jobId: id });
      for (let k = 0; k < 6; k++)
        assert.deepEqual(
          t.log.of(`${id}#${k}`).map((e) => e.kind),
          ["completed"],
        );
      const r = await record(t.store, id);
      assert.equal(r.status, "proved", r.error ?? undefined);
      assert.equal(r.prover, "test-prover");
      assert.equal(r.steps.length, 6);
      assert.deepEqual(Object.keys(r.timings).sort(), ["prove", "queued", "total", "verify", "witness"]);
      const request = r.request as GenerationProofRequest;
      assert.notEqual(request.nonces[0], request.nonces[1], "each prompt has its own nonce");
      for (const c of choices) {
        const nonce = requestNonce(
          generationContentHash(prompts[c.prompt_index], request.max_tokens, []),
          request.salt,
          nonceBitsOf(student.manifest),
        );
        const steps = r.steps
          .filter((s) => (s.output as StepOutput).choice === c.index)
          .sort((a, b) => (a.output as StepOutput).position - (b.output as StepOutput).position);
        assert.equal(steps.length, 3);
        const windows = decodingStepWindows(prompts[c.prompt_index], c.tokens, 16, EOT);
        for (const [k, s] of steps.entries()) {
          assert.equal(s.status, "proved", `choice ${c.index} step ${k}`);
          assert.equal(s.prover, "test-prover");
          assert.deepEqual(Object.keys(s.timings).sort(), ["prove", "verify", "witness"]);
          assert.equal(
            await snarkjs.groth16.verify(student.vkey, s.publicSignals!, s.proof as Groth16Proof),
            true,
            `choice ${c.index} step ${k} verifies`,
          );
          const decoded = decodePublicSignals(student.manifest, s.publicSignals!.map(BigInt));
          assert.ok(decoded.kind === "token-step");
          assert.equal(decoded.next_token, c.tokens[k]);
          assert.deepEqual(decoded.context, windows[k]);
          assert.equal(decoded.nonce, nonce.toString());
          if (k + 1 < steps.length)
            assert.equal(
              steps[k + 1].publicSignals![0],
              s.publicSignals![1],
              `choice ${c.index}: step ${k + 1} starts where step ${k} ended`,
            );
        }
      }
    } finally {
      await t.close();
    }
  });
});

// ---- 3, 4: failures ----

describe("failures", () => {
  test("a served class that is not the proven one fails at once, without retries", async () => {
    const t = rig({ attempts: 3 });
    try {
      let runs = 0;
      await t.work((job) => {
        runs++;
        return t.processor.handle(job);
      });
      const { id, served } = await scheduleSpam(t.scheduler, "meeting notes for tuesday, see attached agenda", (s) => ({
        ...s,
        argmax: 1 - s.argmax,
      }));
      const outcome = await t.log.outcome(id);
      assert.equal(outcome.kind, "failed");
      assert.match(outcome.reason!, /served output .* is not the proven output/);
      await untilIdle(t.queue);
      assert.equal(runs, 1, "an unrecoverable error is not retried");
      const r = await record(t.store, id);
      assert.equal(r.status, "failed");
      assert.equal(r.error, `the served output ${served.argmax} is not the proven output ${1 - served.argmax}`);
      assert.equal(r.proof, null);
      assert.equal(r.attempts, 1);
    } finally {
      await t.close();
    }
  });

  test("handle throws an error no retry can fix for a served class that is not the proven one", async () => {
    const t = rig();
    try {
      const { id } = await scheduleSpam(t.scheduler, "cheap meds online, no prescription", (s) => ({
        ...s,
        argmax: 1 - s.argmax,
      }));
      await assert.rejects(
        t.processor.handle(context(id, 1, 3)),
        (err) => isProofgateError(err) && !isRetryable(err) && /is not the proven output/.test(err.message),
      );
      assert.equal((await record(t.store, id)).status, "failed");
    } finally {
      await t.close();
    }
  });

  test("a generated token that is not the greedy choice fails its step and the record at once", async () => {
    const t = rig({ attempts: 3 });
    try {
      const runs: number[] = [];
      await t.work((job) => {
        runs.push(job.payload.step ?? -1);
        return t.processor.handle(job);
      });
      const prompt = bytes("It was the best of times");
      const [first, second] = greedy(prompt, 2);
      const wrong = (second + 1) % 320;
      const id = await scheduleStudent(t.scheduler, [prompt], [choice(0, 0, [first, wrong])]);
      const parent = await t.log.outcome(id);
      assert.equal(parent.kind, "failed");
      assert.match(parent.reason!, new RegExp(`child ${id}#1 failed`));
      const child = t.log.of(`${id}#1`);
      assert.equal(child.length, 1);
      assert.equal(child[0].kind, "failed");
      assert.match(
        child[0].reason!,
        new RegExp(`the served token ${wrong} is not the model's greedy choice ${second}$`),
      );
      await untilIdle(t.queue);
      assert.deepEqual(runs, [0, 1], "the failing step ran once; the parent never ran");
      const r = await record(t.store, id);
      assert.equal(r.status, "failed");
      assert.equal(
        r.error,
        `step 1: the served token ${wrong} is not the model's greedy choice ${second}`,
        "the record's error names the step once",
      );
      assert.deepEqual(
        r.steps.map((s) => s.status),
        ["proved", "failed"],
      );
      assert.equal(r.steps[1].proof, null);
    } finally {
      await t.close();
    }
  });

  test("a retryable error fails the record after the queue's attempts, handed back to queued between them", async () => {
    const t = rig({ attempts: 2 });
    try {
      const seen: string[] = [];
      const handler: JobHandler = async (job) => {
        try {
          await t.processor.handle(job);
        } finally {
          const r = await t.store.get(job.payload.proofId);
          seen.push(`attempt ${job.attempt}/${job.maxAttempts}: ${r?.status} (${r?.error})`);
        }
      };
      await t.work(handler);
      const { id } = await scheduleSpam(t.scheduler, "hello", undefined, UNKNOWN_CIRCUIT);
      const outcome = await t.log.outcome(id);
      const reason = `worker test-prover has no compiled circuit ${UNKNOWN_CIRCUIT}`;
      assert.deepEqual(outcome, { kind: "failed", jobId: id, reason });
      await untilIdle(t.queue);
      assert.deepEqual(
        seen,
        [`attempt 1/2: queued (${reason})`, `attempt 2/2: failed (${reason})`],
        "two runs, not a loop",
      );
      const r = await record(t.store, id);
      assert.equal(r.status, "failed");
      assert.equal(r.error, reason);
      assert.equal(r.attempts, 2);
      assert.deepEqual(
        t.store.moves.filter((m) => m.id === id && m.won).map((m) => `${m.from}→${m.to}`),
        ["queued→proving", "proving→queued", "queued→proving", "proving→failed"],
      );
    } finally {
      await t.close();
    }
  });
});

// ---- 5, 6: leases and claims ----

describe("leases", () => {
  test("a record left proving by a dead worker is taken over once its lease ran out", async () => {
    const clock = fakeClock();
    const t = rig({ now: clock.now, leaseMs: 60_000, prover: "taker" });
    try {
      const { id } = await scheduleSpam(t.scheduler, "win a prize now");
      // a worker claimed it, then died without writing again
      await t.store.transition(id, "queued", "proving", deadClaim("dead"));
      clock.advance(60_001);
      await t.work();
      assert.equal((await t.log.outcome(id)).kind, "completed");
      const r = await record(t.store, id);
      await assertSingleProved(r, "taker");
      assert.equal(r.attempts, 2);
      assert.equal(r.timings.queued, 5, "the first claim's queued time is kept");
      assert.deepEqual(
        t.store.moves.filter((m) => m.won).map((m) => `${m.from}→${m.to}`),
        ["queued→proving", "proving→queued", "queued→proving", "proving→proved"],
      );
    } finally {
      await t.close();
    }
  });

  test("while the lease is fresh the processor waits, then takes over when it runs out", async () => {
    const leaseMs = 300;
    const clock = fakeClock();
    // each wait of the processor: what the record looked like then, and the fake time moving on
    const duringWaits: { status: ProofStatus; prover: string | null; attempts: number }[] = [];
    let id = "";
    const sleep = async (ms: number) => {
      const r = await record(t.store, id);
      duringWaits.push({ status: r.status, prover: r.prover, attempts: r.attempts });
      clock.advance(ms);
    };
    const t = rig({ now: clock.now, sleep, leaseMs, prover: "taker" });
    try {
      ({ id } = await scheduleSpam(t.scheduler, "lunch at noon?"));
      const claimed = await t.store.transition(id, "queued", "proving", deadClaim("dead"));
      await t.work();
      assert.equal((await t.log.outcome(id)).kind, "completed");
      assert.ok(duringWaits.length > 0, "the processor waited on the fresh lease");
      for (const seen of duringWaits)
        assert.deepEqual(
          seen,
          { status: "proving", prover: "dead", attempts: 1 },
          "not taken over while the lease is fresh",
        );
      const handBack = t.store.moves.find((m) => m.from === "proving" && m.to === "queued");
      assert.ok(handBack, "handed back after the lease");
      assert.ok(
        handBack.at - claimed!.updatedAtMs >= leaseMs,
        `taken over ${handBack.at - claimed!.updatedAtMs} ms after the last write; lease ${leaseMs} ms`,
      );
      const r = await record(t.store, id);
      await assertSingleProved(r, "taker");
      assert.equal(r.attempts, 2);
    } finally {
      await t.close();
    }
  });

  test("a live worker that keeps its lease fresh is never taken over; its result stands", async () => {
    const leaseMs = 300;
    const clock = fakeClock();
    const beats = 8; // the live worker writes within every wait, for more than two leases, then proves
    let waited = 0;
    let id = "";
    const sleep = async (ms: number) => {
      clock.advance(ms);
      waited += ms;
      if (waited < beats * leaseMs) await t.store.update(id, {});
      else
        await t.store.transition(id, "proving", "proved", {
          publicSignals: ["1"],
          proof: { by: "live" },
          prover: "live",
        });
    };
    const t = rig({ now: clock.now, sleep, leaseMs, prover: "taker" });
    try {
      ({ id } = await scheduleSpam(t.scheduler, "see you tomorrow"));
      await t.store.transition(id, "queued", "proving", deadClaim("live"));
      await t.work();
      assert.equal((await t.log.outcome(id)).kind, "completed");
      assert.ok(waited >= beats * leaseMs, `the processor waited ${waited} ms of fake time`);
      const r = await record(t.store, id);
      assert.equal(r.prover, "live");
      assert.deepEqual(r.proof, { by: "live" });
      assert.equal(r.attempts, 1);
      assert.equal(t.store.moves.filter((m) => m.from === "proving" && m.to === "queued").length, 0);
    } finally {
      await t.close();
    }
  });
});

describe("maxClaims", () => {
  test("a record already claimed maxClaims times fails with 'gave up after' instead of being proved", async () => {
    const t = rig({ maxClaims: 2 });
    try {
      const { id } = await scheduleSpam(t.scheduler, "free money");
      for (let k = 0; k < 2; k++) {
        await t.store.transition(id, "queued", "proving", { prover: `crashed-${k}` });
        await t.store.transition(id, "proving", "queued", { error: `worker crashed-${k} stopped` });
      }
      await t.processor.handle(context(id));
      const r = await record(t.store, id);
      assert.equal(r.status, "failed");
      assert.equal(r.error, "gave up after 2 claims: worker crashed-1 stopped");
      assert.equal(r.proof, null);
      assert.equal(r.attempts, 2, "not claimed a third time");
    } finally {
      await t.close();
    }
  });

  test("a record whose last allowed claim died with its worker fails once the lease runs out", async () => {
    const clock = fakeClock();
    const t = rig({ now: clock.now, leaseMs: 1000, maxClaims: 2 });
    try {
      const { id } = await scheduleSpam(t.scheduler, "free money");
      await t.store.transition(id, "queued", "proving", { prover: "crashed-0" });
      await t.store.transition(id, "proving", "queued");
      await t.store.transition(id, "queued", "proving", { prover: "crashed-1" });
      clock.advance(1000);
      await t.work();
      assert.equal((await t.log.outcome(id)).kind, "completed");
      const r = await record(t.store, id);
      assert.equal(r.status, "failed");
      assert.equal(r.error, "gave up after 2 claims: its worker stopped each time");
      assert.equal(r.attempts, 2);
    } finally {
      await t.close();
    }
  });

  test("a generation step of a record claimed maxClaims times fails the step and the record", async () => {
    const t = rig({ maxClaims: 1 });
    try {
      const prompt = bytes("Once upon");
      const id = await scheduleStudent(t.scheduler, [prompt], [choice(0, 0, [1, 2])]);
      await t.store.transition(id, "queued", "proving");
      await t.store.transition(id, "proving", "queued");
      await assert.rejects(
        t.processor.handle(context(id, 1, 3, 0)),
        (err) => isProofgateError(err) && !isRetryable(err) && err.message === "gave up after 1 claims",
      );
      const r = await record(t.store, id);
      assert.equal(r.status, "failed");
      assert.equal(r.error, "step 0: gave up after 1 claims");
      assert.deepEqual(
        r.steps.map((s) => s.status),
        ["failed", "queued"],
      );
    } finally {
      await t.close();
    }
  });
});

// ---- 7: the sweep ----

describe("sweep", () => {
  const leaseMs = 60_000;
  const clock = fakeClock();
  let t: Rig;
  let lost: ProofScheduler;
  let sweep: ProofSweep;

  before(async () => {
    t = rig({ now: clock.now, leaseMs, prover: "sweeper" });
    // a scheduler whose queue is gone: records are stored, their jobs never enqueued
    const closed = new MemoryJobQueue();
    await closed.close();
    lost = new ProofScheduler({ store: t.store, queue: closed, logger });
    sweep = new ProofSweep({ store: t.store, scheduler: t.scheduler, logger, leaseMs, queuedGraceMs: 0 });
    await t.work();
  });

  after(async () => {
    await sweep.stop();
    await t.close();
  });

  test("a queued record whose job was lost is enqueued by the sweep and proved", async () => {
    const { id } = await scheduleSpam(lost, "the job of this one was lost");
    assert.equal((await record(t.store, id)).status, "queued");
    assert.deepEqual(
      await t.queue.counts(),
      { waiting: 0, active: 0, delayed: 0, waitingChildren: 0 },
      "nothing on the queue",
    );
    assert.deepEqual(await sweep.sweepOnce(), { queued: 1, orphaned: 0, abandoned: 0 });
    assert.equal((await t.log.outcome(id)).kind, "completed");
    await assertSingleProved(await record(t.store, id), "sweeper");
  });

  test("a proving record idle past the lease is re-enqueued and proved; a fresh one is left alone", async () => {
    const { id: orphan } = await scheduleSpam(lost, "its worker died");
    await t.store.transition(orphan, "queued", "proving", deadClaim("dead"));
    clock.advance(leaseMs);
    const { id: fresh } = await scheduleSpam(lost, "its worker is busy");
    await t.store.transition(fresh, "queued", "proving", deadClaim("alive"));
    assert.deepEqual(await sweep.sweepOnce(), { queued: 0, orphaned: 1, abandoned: 0 });
    assert.equal((await t.log.outcome(orphan)).kind, "completed");
    const r = await record(t.store, orphan);
    await assertSingleProved(r, "sweeper");
    assert.equal(r.attempts, 2);
    // the fresh one: not enqueued, not touched
    assert.deepEqual(t.log.of(fresh), []);
    assert.deepEqual(await t.queue.counts(), { waiting: 0, active: 0, delayed: 0, waitingChildren: 0 });
    const left = await record(t.store, fresh);
    assert.equal(left.status, "proving");
    assert.equal(left.prover, "alive");
    assert.equal(left.attempts, 1);
    assert.deepEqual(await sweep.sweepOnce(), { queued: 0, orphaned: 0, abandoned: 0 });
  });

  test("a generating record whose gateway stopped refreshing it (killed mid-answer) is failed with the reason; a live one is left alone", async () => {
    const open = (text: string) =>
      lost.openGeneration({
        id: newId("proof"),
        model: "pg-student",
        circuit: { modelId: student.manifest.model_id, vkeyHash: student.manifest.vkey_hash },
        endpoint: "/v1/completions",
        promptTokens: [bytes(text)],
        padToken: EOT,
        temperature: 0,
        maxTokens: 2,
        stop: [],
        nonceBits: nonceBitsOf(student.manifest),
      });
    const killed = await open("its gateway was killed");
    assert.equal(killed.ref.status, "generating");
    clock.advance(leaseMs);
    const live = await open("its gateway is generating");
    // (the earlier test's live worker has now gone quiet for a lease too: orphaned, not this test's concern)
    assert.equal((await sweep.sweepOnce()).abandoned, 1);
    const failed = await record(t.store, killed.ref.id);
    assert.equal(failed.status, "failed");
    assert.match(failed.error!, /gateway stopped while generating/);
    assert.equal((await record(t.store, live.ref.id)).status, "generating");
    // the killed one cannot come back; the live one finishes as usual
    assert.equal((await killed.finish([choice(0, 0, [1, 2])])).status, "failed");
    assert.equal((await live.finish([choice(0, 0, [1, 2])])).status, "queued");
    const finished = await record(t.store, live.ref.id);
    assert.equal(finished.steps.length, 2);
    const next = await sweep.sweepOnce();
    assert.deepEqual(
      [next.queued, next.abandoned],
      [1, 0],
      "its job was lost with the closed queue: the sweep enqueues it",
    );
  });
});
