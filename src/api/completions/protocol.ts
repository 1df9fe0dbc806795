/** Wire schemas of POST /v1/completions (OpenAI's legacy completions; unknown request fields are ignored). */
import { z } from "zod";
import { generationFields, Usage } from "../generation-params.js";
import { ProofRef } from "../proofs/protocol.js";
import { CompletionLogprobs } from "../logprobs-wire.js";

const TokenIds = z.array(z.int().min(0)).min(1);

export const CompletionRequest = z
  .object({
    ...generationFields,
    prompt: z
      .union([z.string(), z.array(z.string()).min(1), TokenIds, z.array(TokenIds).min(1)])
      .describe("text, texts, token ids, or lists of token ids"),
    logprobs: z.int().min(0).max(20).nullish().describe("alternatives listed per token"),
    echo: z.boolean().nullish().describe("prefix each choice with its prompt"),
  })
  .meta({ id: "CompletionRequest" });
export type CompletionRequest = z.infer<typeof CompletionRequest>;

const FinishReason = z.enum(["stop", "length"]);

export const Completion = z
  .object({
    id: z.string(),
    object: z.literal("text_completion"),
    created: z.int(),
    model: z.string(),
    choices: z.array(
      z.object({
        index: z.int(),
        text: z.string(),
        logprobs: CompletionLogprobs.nullable(),
        finish_reason: FinishReason,
      }),
    ),
    usage: Usage,
    proof: ProofRef.optional().describe(
      "the proof record of this answer (provable models, unless the request sent proof: false)",
    ),
  })
  .meta({ id: "Completion" });
export type Completion = z.infer<typeof Completion>;

export const CompletionChunk = z
  .object({
    id: z.string(),
    object: z.literal("text_completion"),
    created: z.int(),
    model: z.string(),
    choices: z.array(
      z.object({
        index: z.int(),
        text: z.string(),
        logprobs: CompletionLogprobs.nullable(),
        finish_reason: FinishReason.nullable(),
      }),
    ),
    usage: Usage.nullable()
      .optional()
      .describe("present (null until the last chunk) only with stream_options.include_usage"),
    proof: ProofRef.optional().describe("on the last chunk before [DONE], when the answer is proven"),
  })
  .meta({ id: "CompletionChunk" });
export type CompletionChunk = z.infer<typeof CompletionChunk>;
