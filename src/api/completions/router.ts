/** HTTP of POST /v1/completions: parse → CompletionsService → JSON or SSE. */
import type { Router } from "express";
import { generationHandler, type GenerationAdmission } from "../generation-response.js";
import { mount, type RouteDoc } from "../route-doc.js";
import { Completion, CompletionChunk, CompletionRequest } from "./protocol.js";
import type { CompletionsService } from "./service.js";

const completions: RouteDoc = {
  method: "post",
  path: "/v1/completions",
  summary: "Text completion (OpenAI-compatible)",
  request: CompletionRequest,
  response: Completion,
  streamEvent: CompletionChunk,
};
export const completionsRoutes: readonly RouteDoc[] = [completions];

export function attachCompletionsRouter(
  router: Router,
  service: CompletionsService,
  admission: GenerationAdmission,
): void {
  mount(router, completions, generationHandler(CompletionRequest, service, admission));
}
