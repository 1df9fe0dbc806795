/**
 * Text completions: each prompt (text or token ids) is continued n times, whole or as chunks. `prepare`
 * does every check that can refuse the request, so a refused stream still gets its status.
 */
import type { KeyLimits } from "../../config/api-keys-file.js";
import { ProofgateError } from "../../core/errors.js";
import type { LanguageModel } from "../../model/served-model.js";
import { planGeneration } from "../generation-params.js";
import { defaultTemperature, proofIdFor } from "../generation-proof.js";
import {
  generateChoices,
  generationJob,
  generationUsage,
  type GenerationJob,
  type GenerationServiceDeps,
} from "../generation-service.js";
import { findLanguageModel } from "../language-model.js";
import { checkPromptChars } from "../request-validation.js";
import { toCompletionLogprobs } from "../logprobs-wire.js";
import type { Completion, CompletionChunk, CompletionRequest } from "./protocol.js";

export interface CompletionJob extends GenerationJob {
  /** Per prompt, the text echoed before each of its choices (empty without `echo`). */
  readonly echoes: readonly string[];
}

const ENDPOINT = "/v1/completions";

function promptTokenLists(model: LanguageModel, prompt: CompletionRequest["prompt"]): number[][] {
  if (typeof prompt === "string") return [model.tokenizer.encode(prompt)];
  if (prompt.every((p) => typeof p === "string")) return (prompt as string[]).map((p) => model.tokenizer.encode(p));
  const lists = prompt.every((p) => typeof p === "number") ? [prompt as number[]] : (prompt as number[][]);
  lists.forEach((ids, i) => {
    const bad = ids.findIndex((id) => id >= model.tokenizer.vocabSize);
    if (bad >= 0) {
      const param = lists.length === 1 && typeof prompt[0] === "number" ? `prompt[${bad}]` : `prompt[${i}][${bad}]`;
      throw new ProofgateError(
        "invalid_argument",
        `${param} is ${ids[bad]}; token ids of ${model.id} are below ${model.tokenizer.vocabSize}`,
        { param },
      );
    }
  });
  return lists;
}

export class CompletionsService {
  constructor(private readonly deps: GenerationServiceDeps) {}

  /** `limits`: those of the request's API key (its step ceiling replaces the server's). */
  prepare(request: CompletionRequest, limits: KeyLimits = {}): CompletionJob {
    const model = findLanguageModel(this.deps.registry, request.model, ENDPOINT);
    const texts =
      typeof request.prompt === "string"
        ? [request.prompt]
        : request.prompt.filter((p): p is string => typeof p === "string");
    checkPromptChars(
      texts.reduce((sum, t) => sum + t.length, 0),
      this.deps.config.maxPromptChars,
      "prompt",
    );
    const prompts = promptTokenLists(model, request.prompt);
    const proofId = proofIdFor(this.deps.proofs, model, request.proof);
    const topLogprobs = request.logprobs ?? null;
    const plan = planGeneration({
      fields: request,
      maxTokens: request.max_tokens,
      maxTokensParam: "max_tokens",
      config: this.deps.config,
      defaultTemperature: defaultTemperature(model),
      proven: proofId !== null,
      prompts: prompts.length,
      topLogprobs,
      maxProofSteps: limits.maxProofSteps,
    });
    model.batcher.checkCapacity(prompts.length * plan.n);
    return {
      ...generationJob({ idPrefix: "cmpl", model, prompts, plan, topLogprobs, proofId, proof: request.proof }),
      echoes: prompts.map((ids) => (request.echo ? model.tokenizer.decode(ids) : "")),
    };
  }

  async complete(job: CompletionJob, signal?: AbortSignal): Promise<Completion> {
    const { results, proof } = await generateChoices(this.deps, job, { endpoint: ENDPOINT, signal });
    return {
      id: job.id,
      object: "text_completion",
      created: job.created,
      model: job.model.id,
      choices: results.map((r, index) => {
        const echo = this.echoOf(job, index);
        return {
          index,
          text: echo + r.text,
          logprobs: r.logprobs ? toCompletionLogprobs(job.model.tokenizer, r.logprobs, echo.length) : null,
          finish_reason: r.finishReason,
        };
      }),
      usage: generationUsage(job, results),
      ...proof,
    };
  }

  /** Sends text deltas per choice, a final chunk per choice with its finish reason, then usage if asked. */
  async stream(job: CompletionJob, send: (chunk: CompletionChunk) => void, signal?: AbortSignal): Promise<void> {
    const chunk = (choices: CompletionChunk["choices"]): CompletionChunk => ({
      id: job.id,
      object: "text_completion",
      created: job.created,
      model: job.model.id,
      choices,
      ...(job.plan.includeUsage ? { usage: null } : {}),
    });
    const echoed = new Set<number>();
    const { results, proof } = await generateChoices(this.deps, job, {
      endpoint: ENDPOINT,
      signal,
      onDelta: (index, delta) => {
        // the echo goes out with a choice's first text, so offsets match the non-streamed answer
        const echo = echoed.has(index) ? "" : this.echoOf(job, index);
        echoed.add(index);
        const logprobs =
          job.topLogprobs === null
            ? null
            : toCompletionLogprobs(job.model.tokenizer, delta.logprobs, this.echoOf(job, index).length);
        send(chunk([{ index, text: echo + delta.text, logprobs, finish_reason: null }]));
      },
      onFinish: (index, result) => {
        const echo = echoed.has(index) ? "" : this.echoOf(job, index);
        send(chunk([{ index, text: echo, logprobs: null, finish_reason: result.finishReason }]));
      },
    });
    if (job.plan.includeUsage) send({ ...chunk([]), usage: generationUsage(job, results), ...proof });
    else if (proof.proof) send({ ...chunk([]), ...proof });
  }

  private echoOf(job: CompletionJob, index: number): string {
    return job.echoes[Math.floor(index / job.plan.n)]!;
  }
}
