/** HTTP of POST /v1/chat/completions: parse → ChatService → JSON or SSE. */
import type { Router } from "express";
import { sendGeneration } from "../generation-response.js";
import { parseRequest } from "../request-validation.js";
import type { RouteDoc } from "../route-doc.js";
import { ChatCompletion, ChatCompletionChunk, ChatCompletionRequest } from "./protocol.js";
import type { ChatService } from "./service.js";
import { logIgnoredFields } from "../log-ignored-fields.js";

export const chatRoutes: readonly RouteDoc[] = [
  { method: "post", path: "/v1/chat/completions", summary: "Chat completion (OpenAI-compatible)", request: ChatCompletionRequest, response: ChatCompletion, streamEvent: ChatCompletionChunk },
];

export function attachChatRouter(router: Router, service: ChatService): void {
  router.post("/v1/chat/completions", async (req, res) => {
    const parsed = parseRequest(ChatCompletionRequest, req.body);
    logIgnoredFields(req, parsed.ignoredFields);
    const job = service.prepare(parsed.value);
    await sendGeneration({
      req,
      res,
      stream: job.plan.stream,
      complete: (signal) => service.complete(job, signal),
      streamChunks: (send, signal) => service.stream(job, send, signal),
    });
  });
}

