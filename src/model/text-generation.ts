/**
 * One generated sequence: prompt tokens in, text out, one decoding step at a time through the model's
 * continuous batcher. Text is released as the tokenizer's stream decoder completes characters and the
 * stop matcher rules out a stop string; each token's logprobs travel with the text it starts. Streamed
 * and non-streamed answers come from this one loop, so their texts are identical for the same seed.
 */
import { Random } from "../core/random.js";
import type { EngineObserver } from "./engine-observer.js";
import { chooseToken } from "./sampler.js";
import type { LanguageModel } from "./served-model.js";
import { StopMatcher } from "./stop-sequences.js";
import { chosenTokenLogprob, type ChosenTokenLogprob } from "./token-logprobs.js";

export type FinishReason = "stop" | "length";

export interface GenerateTextOptions {
  readonly model: LanguageModel;
  readonly promptTokens: readonly number[];
  readonly maxTokens: number;
  /** 0 = greedy. */
  readonly temperature: number;
  readonly topP: number;
  /** Seeds the sampler; the same seed and settings give the same text. */
  readonly seed: number;
  readonly stop: readonly string[];
  /** How many alternatives to report per token; null = no logprobs at all. */
  readonly topLogprobs: number | null;
  /** Aborting ends the generation at its next step; generateText then rejects with the abort reason. */
  readonly signal?: AbortSignal;
  /** Called with each piece of final text, in order. */
  readonly onDelta?: (delta: GenerationDelta) => void;
  readonly observer?: EngineObserver;
}

/** A generated token's logprobs and where its text starts in the generated text. */
export interface GeneratedTokenLogprob extends ChosenTokenLogprob {
  readonly textOffset: number;
}

export interface GenerationDelta {
  readonly text: string;
  /** Logprobs of the tokens whose text starts in this piece (empty unless requested). */
  readonly logprobs: readonly GeneratedTokenLogprob[];
}

export interface GenerateTextResult {
  readonly text: string;
  readonly finishReason: FinishReason;
  /** Tokens sampled, including an end-of-text token. */
  readonly completionTokens: number;
  /**
   * Every token chosen, in order, and so exactly what a proof covers: the generation ends at the
   * end-of-text token, at the token that completed a stop string (its text from the stop string on
   * is not served) or at max_tokens, and each is the last token here; no token past the end.
   */
  readonly tokens: readonly number[];
  readonly logprobs: readonly GeneratedTokenLogprob[] | null;
}

export async function generateText(options: GenerateTextOptions): Promise<GenerateTextResult> {
  const { model, signal } = options;
  const { tokenizer } = model;
  const random = new Random(options.seed);
  const decoder = tokenizer.createStreamDecoder();
  const stops = new StopMatcher(options.stop);
  // what the next step appends to the sequence: the prompt, then each chosen token
  let next: readonly number[] = options.promptTokens;
  const unreleased: GeneratedTokenLogprob[] = [];
  const pieces: string[] = [];
  const allLogprobs: GeneratedTokenLogprob[] = [];
  let decodedLength = 0;
  let releasedLength = 0;
  const chosen: number[] = [];
  let finishReason: FinishReason = "length";

  /** Sends `text` and the logprobs of tokens starting before `upTo` (an offset in the decoded text). */
  const release = (text: string, upTo: number): void => {
    releasedLength += text.length;
    let n = 0;
    while (n < unreleased.length && unreleased[n]!.textOffset < upTo) n++;
    const logprobs = unreleased.splice(0, n);
    if (text.length === 0 && logprobs.length === 0) return;
    pieces.push(text);
    allLogprobs.push(...logprobs);
    options.onDelta?.({ text, logprobs });
  };

  const sampling = { temperature: options.temperature, topP: options.topP, logitScale: model.logitScale };
  const slot = await model.batcher.join(signal);
  try {
    while (chosen.length < options.maxTokens) {
      signal?.throwIfAborted();
      const logits = await slot.step(next);
      signal?.throwIfAborted();
      const id = chooseToken(logits, sampling, random);
      chosen.push(id);
      if (id === tokenizer.eotId) {
        finishReason = "stop";
        break;
      }
      next = [id];
      if (options.topLogprobs !== null) {
        unreleased.push({
          ...chosenTokenLogprob(logits, model.logitScale, id, options.topLogprobs),
          textOffset: decodedLength,
        });
      }
      const text = decoder.push([id]);
      decodedLength += text.length;
      const scan = stops.push(text);
      if (scan.stopped) {
        release(scan.released, releasedLength + scan.released.length);
        finishReason = "stop";
        // nothing after a stop string is released, so the held tail is dropped
        unreleased.length = 0;
        return finish();
      }
      // a token whose text is still held back may yet turn out to be inside a stop string
      release(scan.released, releasedLength + scan.released.length);
    }
    // the end: complete a cut-off UTF-8 sequence (as U+FFFD) and release what the stop matcher held
    const scan = stops.push(decoder.flush());
    if (scan.stopped) {
      finishReason = "stop";
      release(scan.released, releasedLength + scan.released.length);
    } else {
      release(scan.released + stops.flush(), Infinity);
    }
    return finish();
  } finally {
    slot.leave();
    options.observer?.tokensGenerated(model.id, chosen.length);
  }

  function finish(): GenerateTextResult {
    return {
      text: pieces.join(""),
      finishReason,
      completionTokens: chosen.length,
      tokens: chosen,
      logprobs: options.topLogprobs === null ? null : allLogprobs,
    };
  }
}
