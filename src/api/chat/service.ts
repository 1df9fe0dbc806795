/**
 * Chat completions: messages → the chat template's prompt → n generated replies, whole or as chunks.
 * `prepare` does every check that can refuse the request, so a refused stream still gets its status.
 */
import type { Config } from "../../config/config.js";
import type { KeyLimits } from "../../config/api-keys-file.js";
import { newId } from "../../core/ids.js";
import { CHAT_TEMPLATE_STOPS, renderChatPrompt } from "../../model/chat-template.js";
import type { EngineObserver } from "../../model/engine-observer.js";
import type { ModelRegistry } from "../../model/model-registry.js";
import type { LanguageModel } from "../../model/served-model.js";
import type { GenerateTextResult, GenerationDelta } from "../../model/text-generation.js";
import type { ProofScheduler } from "../../prover/proof-scheduler.js";
import { planGeneration, type GenerationPlan } from "../generation-params.js";
import { defaultTemperature, proofIdFor, provenGeneration, submitAsked } from "../generation-proof.js";
import { findLanguageModel } from "../language-model.js";
import { checkPromptChars } from "../request-validation.js";
import { toChatLogprobs } from "../logprobs-wire.js";
import { runChoices } from "../run-choices.js";
import type { ChatCompletion, ChatCompletionChunk, ChatCompletionRequest, ChatMessage } from "./protocol.js";

export interface ChatServiceDeps {
  readonly registry: ModelRegistry;
  readonly config: Config;
  readonly observer?: EngineObserver;
  /** Records and enqueues proofs; absent = nothing is proven. */
  readonly proofs?: ProofScheduler | null;
}

export interface ChatJob {
  readonly id: string;
  readonly created: number;
  readonly model: LanguageModel;
  readonly promptTokens: readonly number[];
  readonly plan: GenerationPlan;
  readonly sequences: number;
  readonly topLogprobs: number | null;
  /** Set when this answer is proven. */
  readonly proofId: string | null;
  /** The request asked for on-chain submission (`"proof": {"submit": true}`). */
  readonly proofSubmit: boolean;
}

const ENDPOINT = "/v1/chat/completions";

function messageText(message: ChatMessage): string {
  if (message.content == null) return "";
  return typeof message.content === "string" ? message.content : message.content.map((p) => p.text).join("");
}

export class ChatService {
  constructor(private readonly deps: ChatServiceDeps) {}

  /** `limits`: those of the request's API key (its step ceiling replaces the server's). */
  prepare(request: ChatCompletionRequest, limits: KeyLimits = {}): ChatJob {
    const model = findLanguageModel(this.deps.registry, request.model, ENDPOINT);
    const maxTokensParam = request.max_completion_tokens != null ? "max_completion_tokens" : "max_tokens";
    const proofId = proofIdFor(this.deps.proofs, model, request.proof);
    // top_logprobs without logprobs: true reports nothing, as OpenAI does
    const topLogprobs = request.logprobs ? (request.top_logprobs ?? 0) : null;
    const plan = planGeneration({
      fields: request,
      maxTokens: request.max_completion_tokens ?? request.max_tokens,
      maxTokensParam,
      config: this.deps.config,
      defaultTemperature: defaultTemperature(model),
      proven: proofId !== null,
      topLogprobs,
      maxProofSteps: limits.maxProofSteps,
    });
    const messages = request.messages.map((m) => ({ role: m.role, content: messageText(m) }));
    checkPromptChars(messages.reduce((sum, m) => sum + m.content.length, 0), this.deps.config.maxPromptChars, "messages");
    const prompt = renderChatPrompt(messages);
    model.batcher.checkCapacity(plan.n);
    return {
      id: newId("chatcmpl"),
      created: Math.floor(Date.now() / 1000),
      model,
      promptTokens: model.tokenizer.encode(prompt),
      plan,
      sequences: plan.n,
      topLogprobs,
      proofId,
      proofSubmit: submitAsked(request.proof),
    };
  }

  async complete(job: ChatJob, signal?: AbortSignal): Promise<ChatCompletion> {
    const { results, proof } = await this.run(job, signal);
    const completionTokens = results.reduce((sum, r) => sum + r.completionTokens, 0);
    return {
      id: job.id,
      object: "chat.completion",
      created: job.created,
      model: job.model.id,
      choices: results.map((r, index) => ({
        index,
        message: { role: "assistant", content: r.text, refusal: null },
        logprobs: r.logprobs ? toChatLogprobs(job.model.tokenizer, r.logprobs) : null,
        finish_reason: r.finishReason,
      })),
      usage: { prompt_tokens: job.promptTokens.length, completion_tokens: completionTokens, total_tokens: job.promptTokens.length + completionTokens },
      ...proof,
    };
  }

  /** Sends the chunks of a streamed answer in order: role, content deltas, finish per choice, usage if asked. */
  async stream(job: ChatJob, send: (chunk: ChatCompletionChunk) => void, signal?: AbortSignal): Promise<void> {
    const chunk = (choices: ChatCompletionChunk["choices"]): ChatCompletionChunk => ({
      id: job.id,
      object: "chat.completion.chunk",
      created: job.created,
      model: job.model.id,
      choices,
      ...(job.plan.includeUsage ? { usage: null } : {}),
    });
    const roles = () => {
      for (let index = 0; index < job.plan.n; index++) send(chunk([{ index, delta: { role: "assistant", content: "" }, logprobs: null, finish_reason: null }]));
    };
    const events = {
      onDelta: (index: number, delta: GenerationDelta) =>
        send(chunk([{ index, delta: { content: delta.text }, logprobs: job.topLogprobs === null ? null : toChatLogprobs(job.model.tokenizer, delta.logprobs), finish_reason: null }])),
      onFinish: (index: number, result: GenerateTextResult) => send(chunk([{ index, delta: {}, logprobs: null, finish_reason: result.finishReason }])),
    };
    const { results, proof } = await this.run(job, signal, events, roles);
    if (job.plan.includeUsage) {
      const completionTokens = results.reduce((sum, r) => sum + r.completionTokens, 0);
      send({ ...chunk([]), usage: { prompt_tokens: job.promptTokens.length, completion_tokens: completionTokens, total_tokens: job.promptTokens.length + completionTokens }, ...proof });
    } else if (proof.proof) send({ ...chunk([]), ...proof });
  }

  /**
   * The choices, generated inside the request's record when it is proven; `start` (a stream's first
   * chunks) runs once that record exists, so the client never holds an id that answers 404.
   */
  private async run(job: ChatJob, signal: AbortSignal | undefined, events: Pick<Parameters<typeof runChoices>[0], "onDelta" | "onFinish"> = {}, start = () => {}) {
    const generate = () => {
      start();
      return runChoices({
        model: job.model,
        prompts: [job.promptTokens],
        plan: job.plan,
        extraStops: CHAT_TEMPLATE_STOPS,
        topLogprobs: job.topLogprobs,
        signal,
        observer: this.deps.observer,
        ...events,
      });
    };
    if (!job.proofId || !this.deps.proofs) return { results: await generate(), proof: {} };
    const options = { scheduler: this.deps.proofs, proofId: job.proofId, model: job.model, endpoint: ENDPOINT, prompts: [job.promptTokens], plan: job.plan };
    const { results, proof } = await provenGeneration({ ...options, extraStops: CHAT_TEMPLATE_STOPS, submit: job.proofSubmit, signal }, generate);
    return { results, proof: { proof } };
  }
}
