/**
 * The gateway's side of proving: each provable answer becomes a `queued` record in the store (the
 * source of truth) and then jobs on the queue. A generation's record is made `generating` before its
 * answer's first byte (so the id a client already holds always answers) and becomes `queued` once
 * every choice is generated, or `failed` with the reason when it is cut off. Its jobs are one job for a single inference, or for a generated
 * sequence a flow whose children prove one decoding step each and whose parent checks the chain.
 * A queue that cannot take the jobs loses nothing: the record is already stored and the sweep
 * (proof-sweep.ts) enqueues it again.
 */
import type { Logger } from "pino";
import { newProofRecord, type ProofRecord, type ProofStatus, type ProofStep } from "../core/proof-record.js";
import { MAX_JOB_PRIORITY, type JobQueue } from "../jobs/job-queue.js";
import type { ProofStore } from "../store/proof-store.js";
import type { ProofBacklog } from "./proof-backlog.js";
import { DEFAULT_PROOF_LEASE_MS, type ProofOrder, type SubmitPolicy } from "../config/config.js";
import type { CircuitManifest } from "../model/circuit-manifest.js";
import { generationContentHash, HASHED_NONCE_BITS, randomSalt, requestNonce } from "../core/request-binding.js";
import {
  stepOutputs,
  type GeneratedChoice,
  type GenerationProofRequest,
  type InferenceProofRequest,
  type OracleRequestRef,
  type StepOutput,
} from "./proof-request.js";

/** What a response carries about its proof (SPEC: `proof` object). */
export interface ProofRef {
  readonly id: string;
  readonly status: ProofStatus;
  readonly url: string;
  /** Estimated seconds until it is proved, from the proof backlog when the request was accepted (null: no estimate yet). */
  readonly eta_s?: number | null;
}

export interface CircuitIdentity {
  /** The circuit's model id. */
  readonly modelId: string;
  readonly vkeyHash: string;
}

/** How many bits of nonce a circuit's proofs carry: a token-step state's top bits, else what a commitment hashes. */
export function nonceBitsOf(manifest: Pick<CircuitManifest, "packing">): number {
  return manifest.packing.kind === "token-step" ? manifest.packing.nonceBits : HASHED_NONCE_BITS;
}

/** What a generation's record commits to before anything is generated: everything but its choices. */
export type OpenGenerationOptions = Omit<ScheduleGenerationOptions, "choices">;

/** A generation's `generating` record, kept fresh while the answer is produced (see `generationLeaseMs`). */
export interface OpenGeneration {
  readonly ref: ProofRef;
  /** Stores the served choices and moves the record to `queued` (enqueued), or `failed` for sampled tokens. */
  finish(choices: readonly GeneratedChoice[]): Promise<ProofRef>;
  /** Moves the record to `failed` with `reason`: the generation was cut off. */
  fail(reason: string): Promise<ProofRef>;
}

export interface ScheduleGenerationOptions {
  readonly id: string;
  /** The served model's id, as requests name it. */
  readonly model: string;
  readonly circuit: CircuitIdentity;
  readonly endpoint: string;
  readonly promptTokens: readonly (readonly number[])[];
  readonly padToken: number;
  /** Exactly the served tokens of each choice (see GeneratedChoice). */
  readonly choices: readonly GeneratedChoice[];
  readonly temperature: number;
  readonly maxTokens: number;
  /** Every stop string the generation ended on. */
  readonly stop: readonly string[];
  /** The circuit's `packing.nonceBits`. */
  readonly nonceBits: number;
  /** The request asked for on-chain submission (counts under PROOFGATE_SUBMIT=requested). */
  readonly submitAsked?: boolean;
}

/**
 * What an inference's nonce is bound to: the request's content (its hash; the scheduler draws the
 * salt and derives the nonce), or for an oracle request the nonce the oracle expects, given whole.
 */
export type InferenceBinding =
  | { readonly contentHash: string; readonly nonceBits: number; readonly nonce?: never; readonly oracle?: never }
  // the on-chain request this inference answers, and the nonce it expects
  | {
      readonly nonce: bigint;
      readonly oracle: OracleRequestRef;
      readonly contentHash?: never;
      readonly nonceBits?: never;
    };

export type ScheduleInferenceOptions = ScheduleInferenceBase & InferenceBinding;

interface ScheduleInferenceBase {
  readonly id: string;
  readonly model: string;
  readonly circuit: CircuitIdentity;
  readonly endpoint: string;
  readonly input: unknown;
  readonly sample: readonly number[];
  readonly served: InferenceProofRequest["served"];
  /** The answer as the client got it. */
  readonly output: unknown;
  readonly submitAsked?: boolean;
}

export interface ProofSchedulerOptions {
  readonly store: ProofStore;
  readonly queue: JobQueue;
  readonly logger: Logger;
  /** How long an answer waits for the queue to take its jobs before leaving them to the sweep. @defaultValue 2000 */
  readonly enqueueTimeoutMs?: number;
  /** Decides each record's `submit`. @defaultValue "none" (no chain) */
  readonly submitPolicy?: SubmitPolicy;
  /** The order proof jobs run in (PROOFGATE_PROOF_ORDER). @defaultValue "fair" */
  readonly order?: ProofOrder;
  /** Where a new record's ETA comes from (its `timings.eta`, ms, and the answer's `eta_s`). */
  readonly backlog?: Pick<ProofBacklog, "latest">;
  /**
   * A `generating` record is written at least every third of this while its answer is produced, so
   * the sweep can tell one whose gateway died (not written for this long) from a long generation.
   * @defaultValue DEFAULT_PROOF_LEASE_MS
   */
  readonly generationLeaseMs?: number;
}

export function proofRef(record: Pick<ProofRecord, "id" | "status">, etaS?: number | null): ProofRef {
  return {
    id: record.id,
    status: record.status,
    url: `/v1/proofs/${record.id}`,
    ...(etaS === undefined ? {} : { eta_s: etaS }),
  };
}

/** A gateway request's nonce under a fresh salt, with what it derives from. */
function saltedNonce(contentHash: string, nonceBits: number): { nonce: string; content_hash: string; salt: string } {
  const salt = randomSalt();
  return { nonce: requestNonce(contentHash, salt, nonceBits).toString(), content_hash: contentHash, salt };
}

/**
 * `fair`: round-robin across requests, a step runs after every request's steps at earlier positions.
 * `fifo`: every job at one priority, so they run as they came (a long completion holds back all after it).
 */
export function stepPriority(step: ProofStep, order: ProofOrder = "fair"): number {
  if (order === "fifo") return 1;
  const position = (step.output as Partial<StepOutput> | null)?.position ?? step.index;
  return Math.min(position + 1, MAX_JOB_PRIORITY);
}

/** Whether a record goes on-chain once proved: the policy, or for `requested` what the request asked. */
export function submitFor(policy: SubmitPolicy, asked: boolean): boolean {
  return policy === "all" || (policy === "requested" && asked);
}

export class ProofScheduler {
  constructor(private readonly options: ProofSchedulerOptions) {}

  /** The backlog's last ETA for a record made now: seconds (the answer) and the record's `timings.eta` (ms). */
  private eta(): { etaS: number | null | undefined; timings: { eta?: number } } {
    if (!this.options.backlog) return { etaS: undefined, timings: {} };
    const etaS = this.options.backlog.latest?.etaS ?? null;
    return { etaS, timings: etaS === null ? {} : { eta: Math.round(etaS * 1000) } };
  }

  /** What every record commits to: the endpoint and the circuit; and whether it goes on-chain. */
  private commonRequest(options: {
    readonly endpoint: string;
    readonly circuit: CircuitIdentity;
    readonly submitAsked?: boolean;
  }) {
    const submit = submitFor(this.options.submitPolicy ?? "none", options.submitAsked ?? false);
    return { endpoint: options.endpoint, circuit: options.circuit.modelId, submit };
  }

  /** Records a finished generation and enqueues its steps: `openGeneration` then `finish` at once. */
  async scheduleGeneration(options: ScheduleGenerationOptions): Promise<ProofRef> {
    const { choices, ...rest } = options;
    return (await this.openGeneration(rest)).finish(choices);
  }

  /**
   * Stores a generation's record as `generating`: what was asked (prompts, max_tokens, stops, the salt
   * and the nonces it derives) and no choices yet. Sampled tokens (temperature > 0) are not the greedy
   * choice the circuit proves, so `finish` stores such a record as `failed` with the reason, never proved.
   */
  async openGeneration(options: OpenGenerationOptions): Promise<OpenGeneration> {
    const { store } = this.options;
    // one salt for the record; each prompt's nonce commits to that prompt, max_tokens and the stops
    const salt = randomSalt();
    const contentHashes = options.promptTokens.map((prompt) =>
      generationContentHash(prompt, options.maxTokens, options.stop),
    );
    const request: GenerationProofRequest = {
      kind: "generation",
      ...this.commonRequest(options),
      nonces: contentHashes.map((hash) => requestNonce(hash, salt, options.nonceBits).toString()),
      content_hashes: contentHashes,
      salt,
      prompt_tokens: options.promptTokens,
      pad_token: options.padToken,
      temperature: options.temperature,
      max_tokens: options.maxTokens,
      stop: options.stop,
    };
    const { etaS, timings } = options.temperature > 0 ? { etaS: undefined, timings: {} } : this.eta();
    const record = await store.create({
      ...newProofRecord({
        id: options.id,
        model: options.model,
        request,
        output: { choices: [] },
        vkeyHash: options.circuit.vkeyHash,
        status: "generating",
      }),
      timings,
    });
    const leaseMs = this.options.generationLeaseMs ?? DEFAULT_PROOF_LEASE_MS;
    const heartbeat = setInterval(
      () => {
        store
          .update(record.id, {})
          .catch((err: unknown) =>
            this.options.logger.warn({ err, proofId: record.id }, "could not refresh a generating record"),
          );
      },
      Math.max(50, Math.floor(leaseMs / 3)),
    );
    heartbeat.unref();
    // a record the sweep failed meanwhile (its lease ran out) is answered as it stands
    const settle = async (moved: ProofRecord | null) =>
      proofRef(moved ?? (await store.get(record.id)) ?? record, moved?.status === "queued" ? etaS : undefined);
    return {
      ref: proofRef(record, etaS),
      finish: async (choices) => {
        clearInterval(heartbeat);
        const output = { choices };
        if (options.temperature > 0) {
          const error = `not provable: tokens were sampled at temperature ${options.temperature}; proofs cover greedy decoding (temperature 0) only`;
          return settle(await store.transition(record.id, "generating", "failed", { output, error }));
        }
        const steps: ProofStep[] = stepOutputs(choices).map((step, index) => ({
          index,
          status: "queued",
          publicSignals: null,
          proof: null,
          output: step,
          timings: {},
          prover: null,
        }));
        const queued = await store.transition(record.id, "generating", "queued", { output, steps });
        if (queued) await this.enqueue(queued);
        return settle(queued);
      },
      fail: async (reason) => {
        clearInterval(heartbeat);
        return settle(await store.transition(record.id, "generating", "failed", { error: reason }));
      },
    };
  }

  async scheduleInference(options: ScheduleInferenceOptions): Promise<ProofRef> {
    const { input, sample, served, oracle } = options;
    const common = this.commonRequest(options);
    const binding = oracle
      ? { nonce: options.nonce!.toString() }
      : saltedNonce(options.contentHash!, options.nonceBits!);
    // an oracle request is answered on-chain whatever the policy: that is what it paid for
    const request: InferenceProofRequest = {
      kind: "inference",
      ...common,
      ...binding,
      submit: common.submit || oracle !== undefined,
      input,
      sample,
      served,
      ...(oracle ? { oracle } : {}),
    };
    const { etaS, timings } = this.eta();
    const record = await this.options.store.create({
      ...newProofRecord({
        id: options.id,
        model: options.model,
        request,
        output: options.output,
        vkeyHash: options.circuit.vkeyHash,
      }),
      timings,
    });
    await this.enqueue(record);
    return proofRef(record, etaS);
  }

  /**
   * Puts a record's pending work on the queue: its unproved steps and the parent that finalizes
   * them, or its single proof. Idempotent while those jobs are pending; returns false (logged) when
   * the queue refused, in which case the sweep retries later.
   *
   * Fair order: a step's priority is its position in its choice (+1), so every request's first steps
   * run before anyone's later ones — requests interleave round-robin, and a single inference or a
   * short completion waits for no long completion ahead of it. A flow's parent runs as soon as its
   * children are done. Under `fifo` every job has priority 1: arrival order.
   */
  async enqueue(record: ProofRecord): Promise<boolean> {
    const { queue, logger } = this.options;
    const timeoutMs = this.options.enqueueTimeoutMs ?? 2000;
    const pending = record.steps.filter((s) => s.status !== "proved");
    const adding = (async () =>
      record.steps.length === 0 || pending.length === 0
        ? queue.enqueue({ proofId: record.id })
        : queue.enqueueFlow(
            { payload: { proofId: record.id } },
            pending.map((s) => ({
              payload: { proofId: record.id, step: s.index },
              priority: stepPriority(s, this.options.order),
            })),
          ))();
    let timer: NodeJS.Timeout | undefined;
    try {
      // a Redis that went away makes its client retry for long; the answer must not wait for it
      await Promise.race([
        adding,
        new Promise(
          (_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs)),
        ),
      ]);
      return true;
    } catch (err) {
      adding.catch(() => undefined);
      logger.warn({ err, proofId: record.id }, "could not enqueue proof jobs; the sweep will retry");
      return false;
    } finally {
      clearTimeout(timer);
    }
  }
}
