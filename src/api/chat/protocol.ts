/** Wire schemas of POST /v1/chat/completions (OpenAI's shapes; unknown request fields are ignored). */
import { z } from "zod";
import { ChatChoiceLogprobs } from "../logprobs-wire.js";
import { generationFields, Usage } from "../generation-params.js";
import { ProofRef } from "../proofs/protocol.js";

const TextPart = z.object({ type: z.literal("text"), text: z.string() });

export const ChatMessage = z.object({
  role: z.enum(["system", "developer", "user", "assistant", "tool"]),
  content: z
    .union([z.string(), z.array(TextPart), z.null()])
    .optional()
    .describe("text, or text parts (the models read text only)"),
  name: z.string().optional(),
});
export type ChatMessage = z.infer<typeof ChatMessage>;

export const ChatCompletionRequest = z
  .object({
    ...generationFields,
    messages: z.array(ChatMessage).min(1),
    max_completion_tokens: z.int().min(1).nullish().describe("takes precedence over max_tokens"),
    logprobs: z.boolean().nullish(),
    top_logprobs: z.int().min(0).max(20).nullish(),
  })
  .meta({ id: "ChatCompletionRequest" });
export type ChatCompletionRequest = z.infer<typeof ChatCompletionRequest>;

const FinishReason = z.enum(["stop", "length"]);

export const ChatCompletion = z
  .object({
    id: z.string(),
    object: z.literal("chat.completion"),
    created: z.int(),
    model: z.string(),
    choices: z.array(
      z.object({
        index: z.int(),
        message: z.object({ role: z.literal("assistant"), content: z.string(), refusal: z.null() }),
        logprobs: ChatChoiceLogprobs.nullable(),
        finish_reason: FinishReason,
      }),
    ),
    usage: Usage,
    proof: ProofRef.optional().describe(
      "the proof record of this answer (provable models, unless the request sent proof: false)",
    ),
  })
  .meta({ id: "ChatCompletion" });
export type ChatCompletion = z.infer<typeof ChatCompletion>;

export const ChatCompletionChunk = z
  .object({
    id: z.string(),
    object: z.literal("chat.completion.chunk"),
    created: z.int(),
    model: z.string(),
    choices: z.array(
      z.object({
        index: z.int(),
        delta: z.object({ role: z.literal("assistant").optional(), content: z.string().optional() }),
        logprobs: ChatChoiceLogprobs.nullable(),
        finish_reason: FinishReason.nullable(),
      }),
    ),
    usage: Usage.nullable()
      .optional()
      .describe("present (null until the last chunk) only with stream_options.include_usage"),
    proof: ProofRef.optional().describe("on the last chunk before [DONE], when the answer is proven"),
  })
  .meta({ id: "ChatCompletionChunk" });
export type ChatCompletionChunk = z.infer<typeof ChatCompletionChunk>;
