/**
 * What chat and text completions share about proofs: whether a request is proven (a provable model,
 * a scheduler, and no `"proof": false`), its proof id (known before generating, so a stream can send
 * `X-Proof-Id` with its headers), and the record made once every choice is generated. A generation the
 * client abandoned is not recorded: nothing was served to prove.
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
export function proofIdFor(scheduler: ProofScheduler | null | undefined, model: LanguageModel, proof: ProofParam): string | null {
  return scheduler && model.provable && model.circuit && proof !== false ? newId("proof") : null;
}

export function submitAsked(proof: ProofParam): boolean {
  return typeof proof === "object" && proof !== null && proof.submit;
}

/** Temperature used when a request sets none: greedy for a provable model, so its answers can be proven. */
export function defaultTemperature(model: LanguageModel): number {
  return model.provable ? 0 : 1;
}

export interface RecordGenerationOptions {
  readonly scheduler: ProofScheduler;
  readonly proofId: string;
  readonly model: LanguageModel;
  readonly endpoint: string;
  /** One token list per prompt; choice index = prompt index × n + k. */
  readonly prompts: readonly (readonly number[])[];
  readonly plan: GenerationPlan;
  readonly results: readonly GenerateTextResult[];
  /** The stop strings the choices ran with besides the request's (the chat template's), as runChoices got them. */
  readonly extraStops?: readonly string[];
  readonly submit: boolean;
}

export function recordGeneration(options: RecordGenerationOptions): Promise<ProofRef> {
  const { model, plan } = options;
  const circuit = model.circuit!;
  return options.scheduler.scheduleGeneration({
    id: options.proofId,
    model: model.id,
    circuit: { modelId: circuit.model_id, vkeyHash: circuit.vkey_hash },
    endpoint: options.endpoint,
    promptTokens: options.prompts,
    padToken: model.tokenizer.eotId,
    choices: options.results.map((r, index) => ({
      index,
      prompt_index: Math.floor(index / plan.n),
      tokens: r.tokens,
      text: r.text,
      finish_reason: r.finishReason,
      completion_tokens: r.tokens.length,
    })),
    temperature: plan.temperature,
    maxTokens: plan.maxTokens,
    stop: choiceStops(plan, options.extraStops),
    nonceBits: nonceBitsOf(circuit),
    submitAsked: options.submit,
  });
}
