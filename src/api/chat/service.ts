/**
 * Chat completions: messages → the chat template's prompt → n generated replies, whole or as chunks.
 * `prepare` does every check that can refuse the request, so a refused stream still gets its status.
 */
import type { KeyLimits } from "../../config/api-keys-file.js";
import { CHAT_TEMPLATE_STOPS, renderChatPrompt } from "../../model/chat-template.js";
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
import { toChatLogprobs } from "../logprobs-wire.js";
import type { ChatCompletion, ChatCompletionChunk, ChatCompletionRequest, ChatMessage } from "./protocol.js";

const ENDPOINT = "/v1/chat/completions";

function messageText(message: ChatMessage): string {
  if (message.content == null) return "";
  return typeof message.content === "string" ? message.content : message.content.map((p) => p.text).join("");
}

export class ChatService {
  constructor(private readonly deps: GenerationServiceDeps) {}

  /** `limits`: those of the request's API key (its step ceiling replaces the server's). */
  prepare(request: ChatCompletionRequest, limits: KeyLimits = {}): GenerationJob {
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
    checkPromptChars(
      messages.reduce((sum, m) => sum + m.content.length, 0),
      this.deps.config.maxPromptChars,
      "messages",
    );
    const prompt = renderChatPrompt(messages);
    model.batcher.checkCapacity(plan.n);
    return generationJob({
      idPrefix: "chatcmpl",
      model,
      prompts: [model.tokenizer.encode(prompt)],
      plan,
      topLogprobs,
      proofId,
      proof: request.proof,
    });
  }

  async complete(job: GenerationJob, signal?: AbortSignal): Promise<ChatCompletion> {
    const { results, proof } = await generateChoices(this.deps, job, {
      endpoint: ENDPOINT,
      extraStops: CHAT_TEMPLATE_STOPS,
      signal,
    });
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
      usage: generationUsage(job, results),
      ...proof,
    };
  }

  /** Sends the chunks of a streamed answer in order: role, content deltas, finish per choice, usage if asked. */
  async stream(job: GenerationJob, send: (chunk: ChatCompletionChunk) => void, signal?: AbortSignal): Promise<void> {
    const chunk = (choices: ChatCompletionChunk["choices"]): ChatCompletionChunk => ({
      id: job.id,
      object: "chat.completion.chunk",
      created: job.created,
      model: job.model.id,
      choices,
      ...(job.plan.includeUsage ? { usage: null } : {}),
    });
    const { results, proof } = await generateChoices(this.deps, job, {
      endpoint: ENDPOINT,
      extraStops: CHAT_TEMPLATE_STOPS,
      signal,
      // the role chunks go out once a proven answer's record exists
      start: () => {
        for (let index = 0; index < job.plan.n; index++)
          send(chunk([{ index, delta: { role: "assistant", content: "" }, logprobs: null, finish_reason: null }]));
      },
      onDelta: (index, delta) =>
        send(
          chunk([
            {
              index,
              delta: { content: delta.text },
              logprobs: job.topLogprobs === null ? null : toChatLogprobs(job.model.tokenizer, delta.logprobs),
              finish_reason: null,
            },
          ]),
        ),
      onFinish: (index, result) =>
        send(chunk([{ index, delta: {}, logprobs: null, finish_reason: result.finishReason }])),
    });
    if (job.plan.includeUsage) send({ ...chunk([]), usage: generationUsage(job, results), ...proof });
    else if (proof.proof) send({ ...chunk([]), ...proof });
  }
}
