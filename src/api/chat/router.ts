/** HTTP of POST /v1/chat/completions: parse → ChatService → JSON or SSE. */
import type { Router } from "express";
import { generationHandler, type GenerationAdmission } from "../generation-response.js";
import type { RouteDoc } from "../route-doc.js";
import { ChatCompletion, ChatCompletionChunk, ChatCompletionRequest } from "./protocol.js";
import type { ChatService } from "./service.js";

export const chatRoutes: readonly RouteDoc[] = [
  { method: "post", path: "/v1/chat/completions", summary: "Chat completion (OpenAI-compatible)", request: ChatCompletionRequest, response: ChatCompletion, streamEvent: ChatCompletionChunk },
];

export function attachChatRouter(router: Router, service: ChatService, admission: GenerationAdmission): void {
  router.post("/v1/chat/completions", generationHandler(ChatCompletionRequest, service, admission));
}
