/** Token logprobs in OpenAI's two wire forms: chat's `logprobs.content` and completions' parallel lists. */
import { z } from "zod";
import type { Tokenizer } from "../model/tokenizer.js";
import type { GeneratedTokenLogprob } from "../model/text-generation.js";

const TopLogprob = z.object({ token: z.string(), logprob: z.number(), bytes: z.array(z.int()).nullable() });

export const ChatTokenLogprob = TopLogprob.extend({ top_logprobs: z.array(TopLogprob) }).meta({
  id: "ChatTokenLogprob",
});
export type ChatTokenLogprob = z.infer<typeof ChatTokenLogprob>;

export const ChatChoiceLogprobs = z
  .object({ content: z.array(ChatTokenLogprob).nullable(), refusal: z.null() })
  .meta({ id: "ChatChoiceLogprobs" });
export type ChatChoiceLogprobs = z.infer<typeof ChatChoiceLogprobs>;

export const CompletionLogprobs = z
  .object({
    tokens: z.array(z.string()),
    token_logprobs: z.array(z.number()),
    top_logprobs: z.array(z.record(z.string(), z.number())),
    text_offset: z.array(z.int()),
  })
  .meta({ id: "CompletionLogprobs" });
export type CompletionLogprobs = z.infer<typeof CompletionLogprobs>;

export function toChatLogprobs(tokenizer: Tokenizer, logprobs: readonly GeneratedTokenLogprob[]): ChatChoiceLogprobs {
  const entry = (id: number, logprob: number) => ({
    token: tokenizer.decode([id]),
    logprob,
    bytes: Array.from(tokenizer.tokenBytes(id)),
  });
  return {
    content: logprobs.map((t) => ({
      ...entry(t.id, t.logprob),
      top_logprobs: t.top.map((a) => entry(a.id, a.logprob)),
    })),
    refusal: null,
  };
}

/** `textOffset` is where each token's text starts in the completion, plus `base` (the echoed prompt, if any). */
export function toCompletionLogprobs(
  tokenizer: Tokenizer,
  logprobs: readonly GeneratedTokenLogprob[],
  base = 0,
): CompletionLogprobs {
  return {
    tokens: logprobs.map((t) => tokenizer.decode([t.id])),
    token_logprobs: logprobs.map((t) => t.logprob),
    // two tokens that decode to the same string share a key; the more likely one (listed first) is kept
    top_logprobs: logprobs.map((t) => {
      const top: Record<string, number> = {};
      for (const a of t.top) top[tokenizer.decode([a.id])] ??= a.logprob;
      return top;
    }),
    text_offset: logprobs.map((t) => base + t.textOffset),
  };
}
