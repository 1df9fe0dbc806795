/** HTTP of POST /v1/chat/completions: parse → ChatService → JSON or SSE. */
import type { Router } from "express";
import { generationHandler, type GenerationAdmission } from "../generation-response.js";
import { mount, type RouteDoc } from "../route-doc.js";
import { ChatCompletion, ChatCompletionChunk, ChatCompletionRequest } from "./protocol.js";
import type { ChatService } from "./service.js";

const chat: RouteDoc = {
  method: "post",
  path: "/v1/chat/completions",
  summary: "Chat completion (OpenAI-compatible)",
  request: ChatCompletionRequest,
  response: ChatCompletion,
  streamEvent: ChatCompletionChunk,
};
export const chatRoutes: readonly RouteDoc[] = [chat];

export function attachChatRouter(router: Router, service: ChatService, admission: GenerationAdmission): void {
  mount(router, chat, generationHandler(ChatCompletionRequest, service, admission));
}
