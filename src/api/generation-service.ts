/**
 * What the chat and completions services share once a request is parsed: their dependencies, the
 * fields of a prepared job, generating its choices (inside the request's proof record when it is
 * proven), and its token usage. Each service keeps what differs: the prompt (messages through the
 * chat template, or prompts and echo) and the wire shape of its answer and chunks.
 */
import type { Config } from "../config/config.js";
import { newId } from "../core/ids.js";
import type { EngineObserver } from "../model/engine-observer.js";
import type { ModelRegistry } from "../model/model-registry.js";
import type { LanguageModel } from "../model/served-model.js";
import type { GenerateTextResult } from "../model/text-generation.js";
import type { ProofRef, ProofScheduler } from "../prover/proof-scheduler.js";
import type { GenerationPlan, Usage } from "./generation-params.js";
import { provenGeneration, submitAsked, type ProofParam } from "./generation-proof.js";
import type { PreparedGeneration } from "./generation-response.js";
import { runChoices, type RunChoicesOptions } from "./run-choices.js";

export interface GenerationServiceDeps {
  readonly registry: ModelRegistry;
  readonly config: Config;
  readonly observer?: EngineObserver;
  /** Records and enqueues proofs; absent = nothing is proven. */
  readonly proofs?: ProofScheduler | null;
}

export interface GenerationJob extends PreparedGeneration {
  readonly id: string;
  readonly created: number;
  readonly model: LanguageModel;
  /** One token list per prompt; choice index = prompt index × n + k. */
  readonly prompts: readonly (readonly number[])[];
  readonly plan: GenerationPlan;
  readonly topLogprobs: number | null;
  /** The request asked for on-chain submission (`"proof": {"submit": true}`). */
  readonly proofSubmit: boolean;
}

export interface GenerationJobFields {
  /** The answer id's prefix (`chatcmpl`, `cmpl`). */
  readonly idPrefix: string;
  readonly model: LanguageModel;
  readonly prompts: readonly (readonly number[])[];
  readonly plan: GenerationPlan;
  readonly topLogprobs: number | null;
  readonly proofId: string | null;
  readonly proof: ProofParam;
}

/** A prepared job: a fresh answer id, created now, as many sequences as prompts × n. */
export function generationJob({ idPrefix, proof, ...fields }: GenerationJobFields): GenerationJob {
  return {
    ...fields,
    id: newId(idPrefix),
    created: Math.floor(Date.now() / 1000),
    sequences: fields.prompts.length * fields.plan.n,
    proofSubmit: submitAsked(proof),
  };
}

export interface GenerateChoicesOptions extends Pick<RunChoicesOptions, "onDelta" | "onFinish" | "extraStops"> {
  readonly endpoint: string;
  readonly signal?: AbortSignal;
  /** Runs once the record of a proven answer exists (a stream's first chunks), so no client holds an id that answers 404. */
  readonly start?: () => void;
}

/** The job's choices, generated inside its proof record when it is proven; `proof` is what the answer carries. */
export async function generateChoices(
  deps: GenerationServiceDeps,
  job: GenerationJob,
  { endpoint, signal, start, ...choiceOptions }: GenerateChoicesOptions,
): Promise<{ results: GenerateTextResult[]; proof: { proof?: ProofRef } }> {
  const generate = () => {
    start?.();
    return runChoices({
      model: job.model,
      prompts: job.prompts,
      plan: job.plan,
      topLogprobs: job.topLogprobs,
      signal,
      observer: deps.observer,
      ...choiceOptions,
    });
  };
  if (!job.proofId || !deps.proofs) return { results: await generate(), proof: {} };
  const { results, proof } = await provenGeneration(
    {
      scheduler: deps.proofs,
      proofId: job.proofId,
      model: job.model,
      endpoint,
      prompts: job.prompts,
      plan: job.plan,
      extraStops: choiceOptions.extraStops,
      submit: job.proofSubmit,
      signal,
    },
    generate,
  );
  return { results, proof: { proof } };
}

export function generationUsage(job: GenerationJob, results: readonly { readonly completionTokens: number }[]): Usage {
  const promptTokens = job.prompts.reduce((sum, p) => sum + p.length, 0);
  const completionTokens = results.reduce((sum, r) => sum + r.completionTokens, 0);
  return {
    prompt_tokens: promptTokens,
    completion_tokens: completionTokens,
    total_tokens: promptTokens + completionTokens,
  };
}
