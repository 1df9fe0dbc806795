/**
 * The sampling parameters chat and completions share, their wire schema, and how they turn into one
 * generation plan (defaults and config limits applied, the seed fixed).
 */
import { randomInt } from "node:crypto";
import { z } from "zod";
import type { Config } from "../config/config.js";
import { ProofgateError } from "../core/errors.js";
import { ProofParamSchema } from "./proofs/protocol.js";

export const StopParam = z.union([z.string().min(1), z.array(z.string().min(1)).max(16)]);

/** Fields shared by /v1/chat/completions and /v1/completions (snake_case, as OpenAI spells them). */
export const generationFields = {
  model: z.string().min(1),
  max_tokens: z.int().min(1).nullish(),
  temperature: z
    .number()
    .min(0)
    .max(2)
    .nullish()
    .describe("0 = greedy (default 1; 0 for provable models, whose proofs cover greedy decoding)"),
  top_p: z.number().min(0).max(1).nullish(),
  n: z.int().min(1).max(16).nullish(),
  seed: z.int().nullish().describe("same seed and parameters → same output"),
  stop: StopParam.nullish(),
  stream: z.boolean().nullish(),
  stream_options: z.object({ include_usage: z.boolean().nullish() }).nullish(),
  proof: ProofParamSchema,
  user: z.string().nullish(),
};

export const Usage = z
  .object({ prompt_tokens: z.int(), completion_tokens: z.int(), total_tokens: z.int() })
  .meta({ id: "Usage" });
export type Usage = z.infer<typeof Usage>;

export interface GenerationPlan {
  readonly maxTokens: number;
  readonly temperature: number;
  readonly topP: number;
  readonly n: number;
  /** The request's seed (as 32 bits), or a random one. */
  readonly seed: number;
  readonly stop: readonly string[];
  readonly stream: boolean;
  readonly includeUsage: boolean;
  /** Step proofs the answer may cost: every token of every choice when proven (its ceiling), else 0. */
  readonly proofSteps: number;
}

export interface PlanGenerationOptions {
  readonly fields: {
    readonly max_tokens?: number | null;
    readonly temperature?: number | null;
    readonly top_p?: number | null;
    readonly n?: number | null;
    readonly seed?: number | null;
    readonly stop?: string | readonly string[] | null;
    readonly stream?: boolean | null;
    readonly stream_options?: { readonly include_usage?: boolean | null } | null;
  };
  /** max_tokens, or max_completion_tokens for chat when given. */
  readonly maxTokens: number | null | undefined;
  readonly maxTokensParam: string;
  readonly config: Config;
  /** Used when the request sets no temperature: 1 as OpenAI, 0 for a provable model. */
  readonly defaultTemperature: number;
  /** The answer will be proven: one step proof per generated token of every choice. */
  readonly proven: boolean;
  /** Prompts continued (each n times). @defaultValue 1 */
  readonly prompts?: number;
  /** Alternatives reported per token (null: no logprobs). @defaultValue null */
  readonly topLogprobs?: number | null;
  /** The client's own step ceiling (its API key's `max_proof_steps`). @defaultValue config.maxProofSteps */
  readonly maxProofSteps?: number;
}

/**
 * What one request may cost, refused up front with a 400 that says which limit and how to stay under
 * it: the step proofs of a proven answer (every generated token of every choice is one), and the
 * tokens and alternatives the answer would carry (its size, and the memory to build it). Returns the
 * step proofs it may cost.
 */
function checkBudget(options: PlanGenerationOptions, maxTokens: number, n: number): number {
  const { config, maxTokensParam, proven } = options;
  const choices = (options.prompts ?? 1) * n;
  const steps = choices * maxTokens;
  const ceiling = options.maxProofSteps ?? config.maxProofSteps;
  if (proven && steps > ceiling) {
    throw new ProofgateError(
      "invalid_argument",
      `A proven answer of ${choices} choice(s) × ${maxTokens} tokens needs up to ${steps} step proofs; at most ${ceiling} per request${options.maxProofSteps === undefined ? "" : " with this API key"}. Lower ${maxTokensParam} or n, or send "proof": false to be served unproven`,
      { param: maxTokensParam },
    );
  }
  const entries = steps * (1 + (options.topLogprobs ?? 0));
  if (entries > config.maxResponseTokens) {
    throw new ProofgateError(
      "invalid_argument",
      `${choices} choice(s) × ${maxTokens} tokens × ${1 + (options.topLogprobs ?? 0)} (the token and its alternatives) is ${entries} token entries; at most ${config.maxResponseTokens} per answer. Lower ${maxTokensParam}, n or the logprobs asked for`,
      { param: maxTokensParam },
    );
  }
  return proven ? steps : 0;
}

export function planGeneration(options: PlanGenerationOptions): GenerationPlan {
  const { fields, maxTokens, maxTokensParam, config, defaultTemperature } = options;
  if (maxTokens != null && maxTokens > config.maxTokensLimit) {
    throw new ProofgateError(
      "invalid_argument",
      `${maxTokensParam} is ${maxTokens}; at most ${config.maxTokensLimit} is allowed`,
      { param: maxTokensParam },
    );
  }
  if (fields.stream_options != null && !fields.stream) {
    throw new ProofgateError("invalid_argument", "stream_options is only allowed when stream is true", {
      param: "stream_options",
    });
  }
  const stop = fields.stop == null ? [] : typeof fields.stop === "string" ? [fields.stop] : [...fields.stop];
  // a proven answer's default length keeps its proof cheap; an explicit max_tokens is the client's choice
  const planned = maxTokens ?? (options.proven ? config.provenDefaultMaxTokens : config.defaultMaxTokens);
  const proofSteps = checkBudget(options, planned, fields.n ?? 1);
  return {
    maxTokens: planned,
    temperature: fields.temperature ?? defaultTemperature,
    topP: fields.top_p ?? 1,
    n: fields.n ?? 1,
    seed: fields.seed == null ? randomInt(2 ** 32) : Number(BigInt.asUintN(32, BigInt(fields.seed))),
    stop,
    stream: fields.stream ?? false,
    includeUsage: fields.stream_options?.include_usage ?? false,
    proofSteps,
  };
}

/** Seed of choice `index`: the request's seed itself for the first, unrelated streams for the rest. */
export function choiceSeed(seed: number, index: number): number {
  return (seed + Math.imul(index, 0x9e3779b9)) >>> 0;
}
