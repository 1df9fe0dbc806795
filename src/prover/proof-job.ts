/**
 * The proof-job processor: what a worker does with one job. A single inference: claim the record
 * (compare-and-set `queued → proving`), prove, verify, and finish it `proved`. A decoding step of a
 * generated sequence: prove that step alone. A sequence's parent job (runs after all its steps):
 * check each choice's chain of states with `verifyTrace` and finish the record.
 *
 * Faults: the store decides, not the queue. A record `proving` under a worker whose lease ran out
 * (it stopped writing for `leaseMs`) is taken over; a live worker keeps its lease fresh with a
 * heartbeat. A retryable error (`isRetryable`) hands the record back to `queued` until the queue's
 * last attempt; then, or on an error no retry can fix, the record ends `failed` with the reason. A record claimed
 * more than `maxClaims` times (a proof that kills its worker every time) fails instead of looping.
 */
import { hostname } from "node:os";
import type { Logger } from "pino";
import { DEFAULT_PROOF_LEASE_MS } from "../config/config.js";
import { isRetryable, ProofgateError } from "../core/errors.js";
import { round } from "../core/numbers.js";
import type { ProofRecord, ProofStep, ProofTimings } from "../core/proof-record.js";
import { sleep } from "../core/sleep.js";
import type { JobContext, JobHandler } from "../jobs/job-queue.js";
import type { ProofStore } from "../store/proof-store.js";
import { decodingStepWindows } from "../witness/step-windows.js";
import type { CompiledCatalog } from "./compiled-catalog.js";
import type { CompiledModel } from "./compiled-model.js";
import type {
  GenerationProofOutput,
  GenerationProofRequest,
  InferenceProofRequest,
  ProofRequest,
  StepOutput,
} from "./proof-request.js";
import type { ProofFile } from "./prove.js";
import { snarkInThisThread, type SnarkWork } from "./snark-work.js";

export interface ProofJobProcessorOptions {
  readonly store: ProofStore;
  readonly catalog: CompiledCatalog;
  readonly logger: Logger;
  /** Recorded as the record's (and step's) `prover`. @defaultValue `host:pid` */
  readonly prover?: string;
  /** A record not written for this long while `proving` has lost its worker. @defaultValue DEFAULT_PROOF_LEASE_MS */
  readonly leaseMs?: number;
  /** Claims of one record before it fails for good. @defaultValue 5 */
  readonly maxClaims?: number;
  /** Milliseconds since the epoch; tests pass a fake clock. @defaultValue Date.now */
  readonly now?: () => number;
  /** Where proving and verifying run (`serve`: a SnarkThread, off the gateway's event loop). @defaultValue snarkInThisThread */
  readonly snark?: SnarkWork;
  /** Waits between looks at a live worker's lease; tests pass one that moves their fake clock. @defaultValue a timer */
  readonly sleep?: (ms: number) => Promise<void>;
}

export const PROOF_JOB_DEFAULTS = { leaseMs: DEFAULT_PROOF_LEASE_MS, maxClaims: 5 } as const;

const FINAL_FOR_PROVERS = new Set(["proved", "submitted", "verified", "failed"]);

export function defaultProverName(): string {
  return `${hostname()}:${process.pid}`;
}

export class ProofJobProcessor {
  readonly prover: string;
  private readonly leaseMs: number;
  private readonly maxClaims: number;
  private readonly now: () => number;
  private readonly snark: SnarkWork;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(private readonly options: ProofJobProcessorOptions) {
    this.snark = options.snark ?? snarkInThisThread;
    this.prover = options.prover ?? defaultProverName();
    this.leaseMs = options.leaseMs ?? PROOF_JOB_DEFAULTS.leaseMs;
    this.maxClaims = options.maxClaims ?? PROOF_JOB_DEFAULTS.maxClaims;
    this.now = options.now ?? Date.now;
    this.sleep = options.sleep ?? sleep;
  }

  /** The handler to give `JobQueue.process`. */
  get handler(): JobHandler {
    return (job) => this.handle(job);
  }

  async handle(job: JobContext): Promise<void> {
    const { store } = this.options;
    const { proofId, step } = job.payload;
    const record = await store.get(proofId);
    if (!record) throw new ProofgateError("not_found", `no proof record ${proofId}`);
    if (FINAL_FOR_PROVERS.has(record.status)) return;
    try {
      if (step !== undefined) await this.proveStep(record, step);
      else if (record.steps.length > 0) await this.finishSequence(record);
      else await this.proveSingle(record);
    } catch (err) {
      await this.recordFailure(job, err);
      throw err;
    }
  }

  /** Claims a single-proof record for this worker, waiting out a live worker's lease. Null: nothing to do. */
  private async claimSingle(record: ProofRecord): Promise<{ record: ProofRecord; queuedMs: number } | null> {
    const { store } = this.options;
    let current: ProofRecord | null = record;
    for (;;) {
      if (!current || FINAL_FOR_PROVERS.has(current.status)) return null;
      if (current.status === "queued") {
        if (current.attempts >= this.maxClaims) {
          await store.transition(current.id, "queued", "failed", {
            error: `gave up after ${current.attempts} claims: ${current.error ?? "its worker stopped each time"}`,
          });
          return null;
        }
        const queuedMs = Math.max(0, this.now() - current.updatedAtMs);
        const claimed = await store.transition(current.id, "queued", "proving", {
          prover: this.prover,
          error: null,
          timings: current.attempts === 0 ? { queued: queuedMs } : {},
        });
        if (claimed) return { record: claimed, queuedMs };
      } else {
        const idleMs = this.now() - current.updatedAtMs;
        // its worker stopped writing: hand the record back, then claim it like any queued one
        if (idleMs >= this.leaseMs) await store.transition(current.id, "proving", "queued");
        else await this.sleep(Math.min(this.leaseMs - idleMs + 10, 1000));
      }
      current = await store.get(record.id);
    }
  }

  private async proveSingle(initial: ProofRecord): Promise<void> {
    const claim = await this.claimSingle(initial);
    if (!claim) return;
    const { record } = claim;
    const request = record.request as InferenceProofRequest;
    const compiled = await this.compiledFor(request);
    const started = this.now();
    const { file, verifyMs } = await this.withHeartbeat(record.id, () =>
      this.proveAndVerify(compiled, request.sample, BigInt(request.nonce)),
    );
    const served = compiled.manifest.output === "argmax" ? request.served.argmax : request.served.logits;
    if (JSON.stringify(file.output) !== JSON.stringify(served)) {
      throw unprovable(
        `the served output ${JSON.stringify(served)} is not the proven output ${JSON.stringify(file.output)}`,
      );
    }
    const timings: ProofTimings = {
      witness: file.timings.witness_ms,
      prove: file.timings.prove_ms,
      verify: verifyMs,
      total: round(claim.queuedMs + this.now() - started, 1),
    };
    // a worker that stalled past its lease may have been taken over: then the new claim's result stands
    const current = await this.options.store.get(record.id);
    const stillOurs = current?.status === "proving" && current.attempts === record.attempts;
    const done =
      stillOurs &&
      (await this.options.store.transition(record.id, "proving", "proved", {
        publicSignals: [...file.public_signals],
        proof: file.proof,
        prover: this.prover,
        timings,
      }));
    if (!done)
      this.options.logger.warn({ proofId: record.id }, "proof finished after its record moved on; result dropped");
  }

  private async proveStep(initial: ProofRecord, index: number): Promise<void> {
    const { store } = this.options;
    const step = initial.steps.find((s) => s.index === index);
    if (!step) throw new ProofgateError("not_found", `proof ${initial.id} has no step ${index}`);
    if (step.status === "proved") return;
    let record = initial;
    if (record.status === "queued") {
      if (record.attempts >= this.maxClaims) throw unprovable(`gave up after ${record.attempts} claims`);
      // the first step to start moves the whole record to proving; the others find it there
      const queuedMs = Math.max(0, this.now() - record.updatedAtMs);
      record =
        (await store.transition(record.id, "queued", "proving", { timings: { queued: queuedMs } })) ??
        (await store.get(record.id)) ??
        record;
      if (FINAL_FOR_PROVERS.has(record.status)) return;
    }
    const request = record.request as GenerationProofRequest;
    const output = step.output as StepOutput;
    const compiled = await this.compiledFor(request);
    const window = this.stepWindow(record, output, stepContext(compiled));
    const nonce = BigInt(stepNonce(record, output));
    await store.updateStep(record.id, index, { status: "proving", prover: this.prover });
    const { file, verifyMs } = await this.withHeartbeat(record.id, () => this.proveAndVerify(compiled, window, nonce));
    if (file.output !== output.token) {
      throw unprovable(`the served token ${output.token} is not the model's greedy choice ${String(file.output)}`);
    }
    await store.updateStep(record.id, index, {
      status: "proved",
      publicSignals: [...file.public_signals],
      proof: file.proof,
      prover: this.prover,
      timings: { witness: file.timings.witness_ms, prove: file.timings.prove_ms, verify: verifyMs },
    });
  }

  /** The input window of a step: the last `context` tokens of its prompt and the tokens chosen before it. */
  private stepWindow(record: ProofRecord, step: StepOutput, context: number): number[] {
    const request = record.request as GenerationProofRequest;
    const choice = (record.output as GenerationProofOutput).choices.find((c) => c.index === step.choice);
    const prompt = choice ? request.prompt_tokens[choice.prompt_index] : undefined;
    if (!choice || !prompt) throw unprovable(`proof ${record.id}: step of unknown choice ${step.choice}`);
    return decodingStepWindows(prompt, choice.tokens.slice(0, step.position + 1), context, request.pad_token)[
      step.position
    ]!;
  }

  private async finishSequence(record: ProofRecord): Promise<void> {
    if (record.status !== "proving")
      throw new ProofgateError("conflict", `proof ${record.id} is ${record.status}; its steps have not started`, {
        retryable: true,
      });
    const pending = record.steps.filter((s) => s.status !== "proved");
    if (pending.length > 0)
      throw new ProofgateError(
        "conflict",
        `proof ${record.id}: steps ${pending.map((s) => s.index).join(", ")} are not proved yet`,
        { retryable: true },
      );
    const request = record.request as GenerationProofRequest;
    const compiled = await this.compiledFor(request);
    const started = performance.now();
    for (const choice of (record.output as GenerationProofOutput).choices) {
      const steps = record.steps
        .filter((s) => (s.output as StepOutput).choice === choice.index)
        .sort((a, b) => (a.output as StepOutput).position - (b.output as StepOutput).position);
      const files = steps.map((s) => this.stepProofFile(compiled, record, s));
      const trace = await this.snark.verifyTrace(compiled, files);
      if (!trace.valid) throw unprovable(`choice ${choice.index}: ${trace.reason}`);
      if (trace.tokens!.join() !== choice.tokens.join())
        throw unprovable(`choice ${choice.index}: the proven tokens are not the served ones`);
      if (choice.completion_tokens !== undefined && choice.completion_tokens !== steps.length) {
        throw unprovable(
          `choice ${choice.index}: ${steps.length} steps proven for ${choice.completion_tokens} tokens served`,
        );
      }
    }
    const sum = (stage: string) =>
      round(
        record.steps.reduce((total, s) => total + (s.timings[stage] ?? 0), 0),
        1,
      );
    const provers = [...new Set(record.steps.map((s) => s.prover).filter((p): p is string => p !== null))];
    const timings: ProofTimings = {
      witness: sum("witness"),
      prove: sum("prove"),
      verify: round(sum("verify") + performance.now() - started, 1),
      total: round(this.now() - record.created * 1000, 1),
    };
    await this.options.store.transition(record.id, "proving", "proved", { prover: provers.join(","), timings });
  }

  private stepProofFile(compiled: CompiledModel, record: ProofRecord, step: ProofStep): ProofFile {
    const output = step.output as StepOutput;
    return {
      object: "proofgate.proof",
      model_id: compiled.manifest.model_id,
      vkey_hash: compiled.manifest.vkey_hash,
      kind: compiled.manifest.kind,
      input: this.stepWindow(record, output, stepContext(compiled)),
      nonce: stepNonce(record, output),
      output: output.token,
      public_signals: step.publicSignals ?? [],
      proof: step.proof as ProofFile["proof"],
      timings: { witness_ms: step.timings.witness ?? 0, prove_ms: step.timings.prove ?? 0 },
    };
  }

  private async compiledFor(request: ProofRequest): Promise<CompiledModel> {
    const compiled = await this.options.catalog.get(request.circuit);
    // another worker with this circuit can still take it: not the record's fault, so retryable
    if (!compiled)
      throw new ProofgateError("not_ready", `worker ${this.prover} has no compiled circuit ${request.circuit}`, {
        retryable: true,
      });
    return compiled;
  }

  private async proveAndVerify(
    compiled: CompiledModel,
    sample: readonly number[],
    nonce: bigint,
  ): Promise<{ file: ProofFile; verifyMs: number }> {
    const file = await this.snark.prove(compiled, sample, nonce);
    const started = performance.now();
    const verdict = await this.snark.verify(compiled, file);
    if (!verdict.valid) throw unprovable(`the proof does not verify: ${verdict.reason}`);
    return { file, verifyMs: round(performance.now() - started, 1) };
  }

  /** Keeps the record's lease fresh while `work` runs, so no sweep or worker takes it over. */
  private async withHeartbeat<T>(proofId: string, work: () => Promise<T>): Promise<T> {
    const timer = setInterval(
      () => {
        this.options.store
          .update(proofId, {})
          .catch((err: unknown) => this.options.logger.warn({ err, proofId }, "proof heartbeat failed"));
      },
      Math.max(50, Math.floor(this.leaseMs / 3)),
    );
    try {
      return await work();
    } finally {
      clearInterval(timer);
    }
  }

  /** After a failed run: back to `queued` while the queue will retry, else `failed` with the reason. */
  private async recordFailure(job: JobContext, err: unknown): Promise<void> {
    const { store, logger } = this.options;
    const reason = err instanceof Error ? err.message : String(err);
    const final = !isRetryable(err) || job.attempt >= job.maxAttempts;
    const { proofId, step } = job.payload;
    logger.warn({ proofId, step, attempt: job.attempt, final, reason }, "proof job failed");
    try {
      const record = await store.get(proofId);
      if (!record || FINAL_FOR_PROVERS.has(record.status)) return;
      const error = step === undefined ? reason : `step ${step}: ${reason}`;
      if (step !== undefined) await store.updateStep(proofId, step, { status: final ? "failed" : "queued" });
      if (final) await store.transition(proofId, record.status, "failed", { error });
      // a single proof is handed back; a sequence stays `proving` while its other steps go on
      else if (record.status === "proving" && record.steps.length === 0)
        await store.transition(proofId, "proving", "queued", { error });
    } catch (storeErr) {
      logger.error({ err: storeErr, proofId }, "could not record the failure; the sweep will bring the record back");
    }
  }
}

/** The nonce a step is proven under: its choice's prompt's (decimal). */
function stepNonce(record: ProofRecord, step: StepOutput): string {
  const request = record.request as GenerationProofRequest;
  const choice = (record.output as GenerationProofOutput).choices.find((c) => c.index === step.choice);
  const nonce = choice ? request.nonces?.[choice.prompt_index] : undefined;
  if (nonce === undefined) throw unprovable(`proof ${record.id}: no nonce for the prompt of choice ${step.choice}`);
  return nonce;
}

/** The context length of a decoding-step circuit. */
function stepContext(compiled: CompiledModel): number {
  const { packing } = compiled.manifest;
  if (packing.kind !== "token-step")
    throw unprovable(`circuit ${compiled.manifest.model_id} does not prove decoding steps`);
  return packing.context;
}

/** A proof no retry can make: the record's data contradicts itself or the circuit. */
function unprovable(message: string): ProofgateError {
  return new ProofgateError("internal", message, { retryable: false });
}
