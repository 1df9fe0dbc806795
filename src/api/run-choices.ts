/**
 * Runs every choice of a chat or completions request (n per prompt) concurrently, so they share the
 * model's batched steps, and reports each choice's text pieces and end as they happen.
 */
import type { EngineObserver } from "../model/engine-observer.js";
import type { LanguageModel } from "../model/served-model.js";
import { generateText, type GenerateTextResult, type GenerationDelta } from "../model/text-generation.js";
import { choiceSeed, type GenerationPlan } from "./generation-params.js";

export interface RunChoicesOptions {
  readonly model: LanguageModel;
  /** One token list per prompt; choice index = prompt index × n + k. */
  readonly prompts: readonly (readonly number[])[];
  readonly plan: GenerationPlan;
  /** Extra stop strings (the chat template's) besides the request's. */
  readonly extraStops?: readonly string[];
  readonly topLogprobs: number | null;
  readonly signal?: AbortSignal;
  readonly observer?: EngineObserver;
  readonly onDelta?: (index: number, delta: GenerationDelta) => void;
  readonly onFinish?: (index: number, result: GenerateTextResult) => void;
}

/** The stop strings a choice ends on: the request's, then the extra ones (what a proof record commits to). */
export function choiceStops(plan: GenerationPlan, extraStops: readonly string[] = []): string[] {
  return [...plan.stop, ...extraStops];
}

export async function runChoices(options: RunChoicesOptions): Promise<GenerateTextResult[]> {
  const { model, plan } = options;
  const count = options.prompts.length * plan.n;
  model.batcher.checkCapacity(count);
  // one controller for the request: when one choice fails the others stop at their next step
  const controller = new AbortController();
  const onAbort = (): void => controller.abort(options.signal?.reason);
  options.signal?.addEventListener("abort", onAbort, { once: true });
  try {
    return await Promise.all(
      Array.from({ length: count }, async (_, index) => {
        const promptTokens = options.prompts[Math.floor(index / plan.n)]!;
        try {
          const result = await generateText({
            model,
            promptTokens,
            maxTokens: plan.maxTokens,
            temperature: plan.temperature,
            topP: plan.topP,
            seed: choiceSeed(plan.seed, index % plan.n),
            stop: choiceStops(plan, options.extraStops),
            topLogprobs: options.topLogprobs,
            signal: controller.signal,
            observer: options.observer,
            onDelta: options.onDelta && ((delta) => options.onDelta!(index, delta)),
          });
          options.onFinish?.(index, result);
          return result;
        } catch (err) {
          controller.abort(err);
          throw err;
        }
      }),
    );
  } finally {
    options.signal?.removeEventListener("abort", onAbort);
  }
}
