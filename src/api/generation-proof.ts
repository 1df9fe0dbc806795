/**
 * What chat and text completions share about proofs: whether a request is proven (a provable model,
 * a scheduler, and no `"proof": false`), its proof id (known before generating, so a stream can send
 * `X-Proof-Id` with its headers), and its record: stored `generating` before the generation starts (so
 * before the answer's first byte), `queued` once every choice is generated. A generation cut off (the
 * client went away, or it failed) ends `failed` with the reason: nothing was served in full to prove.
 */
import { newId } from "../core/ids.js";
import type { GenerateTextResult } from "../model/text-generation.js";
import type { LanguageModel } from "../model/served-model.js";
import { nonceBitsOf, type ProofRef, type ProofScheduler } from "../prover/proof-scheduler.js";
import type { GenerationPlan } from "./generation-params.js";
import { choiceStops } from "./run-choices.js";

/** A request's `proof` field: false skips proving; `{"submit": true}` asks for on-chain submission. */
export type ProofParam = boolean | { readonly submit: boolean } | null | undefined;

/** A new proof id when this request is proven, else null. */
export function proofIdFor(
  scheduler: ProofScheduler | null | undefined,
  model: LanguageModel,
  proof: ProofParam,
): string | null {
  return scheduler && model.provable && model.circuit && proof !== false ? newId("proof") : null;
}

export function submitAsked(proof: ProofParam): boolean {
  return typeof proof === "object" && proof !== null && proof.submit;
}

/** Temperature used when a request sets none: greedy for a provable model, so its answers can be proven. */
export function defaultTemperature(model: LanguageModel): number {
  return model.provable ? 0 : 1;
}

export interface ProvenGenerationOptions {
  readonly scheduler: ProofScheduler;
  readonly proofId: string;
  readonly model: LanguageModel;
  readonly endpoint: string;
  /** One token list per prompt; choice index = prompt index × n + k. */
  readonly prompts: readonly (readonly number[])[];
  readonly plan: GenerationPlan;
  /** The stop strings the choices ran with besides the request's (the chat template's), as runChoices got them. */
  readonly extraStops?: readonly string[];
  readonly submit: boolean;
  /** Aborted when the client goes away. */
  readonly signal?: AbortSignal;
}

/** Why a generation cut off is not proven: the client's abort reason, else the generation's error. */
export function cutOffReason(err: unknown, signal: AbortSignal | undefined): string {
  const cause = signal?.aborted ? signal.reason : err;
  const why = cause instanceof Error ? cause.message : String(cause);
  return signal?.aborted
    ? `not proven: the answer was cut off before it was complete (${why}); nothing was served in full to prove`
    : `not proven: the generation failed before it was complete (${why})`;
}

/**
 * Runs `generate` with the request's record around it: `generating` before it starts, then `queued`
 * with the served choices (enqueued), or `failed` with `cutOffReason` when it throws (rethrown).
 */
export async function provenGeneration(
  options: ProvenGenerationOptions,
  generate: () => Promise<GenerateTextResult[]>,
): Promise<{ results: GenerateTextResult[]; proof: ProofRef }> {
  const { model, plan } = options;
  const circuit = model.circuit!;
  const open = await options.scheduler.openGeneration({
    id: options.proofId,
    model: model.id,
    circuit: { modelId: circuit.model_id, vkeyHash: circuit.vkey_hash },
    endpoint: options.endpoint,
    promptTokens: options.prompts,
    padToken: model.tokenizer.eotId,
    temperature: plan.temperature,
    maxTokens: plan.maxTokens,
    stop: choiceStops(plan, options.extraStops),
    nonceBits: nonceBitsOf(circuit),
    submitAsked: options.submit,
  });
  let results: GenerateTextResult[];
  try {
    results = await generate();
  } catch (err) {
    // a store that cannot take the move leaves the record to the sweep, once its lease runs out
    await open.fail(cutOffReason(err, options.signal)).catch(() => undefined);
    throw err;
  }
  const proof = await open.finish(
    results.map((r, index) => ({
      index,
      prompt_index: Math.floor(index / plan.n),
      tokens: r.tokens,
      text: r.text,
      finish_reason: r.finishReason,
      completion_tokens: r.tokens.length,
    })),
  );
  return { results, proof };
}
