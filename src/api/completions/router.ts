/** HTTP of POST /v1/completions: parse → CompletionsService → JSON or SSE. */
import type { Router } from "express";
import { sendGeneration } from "../generation-response.js";
import { logIgnoredFields } from "../log-ignored-fields.js";
import { parseRequest } from "../request-validation.js";
import type { RouteDoc } from "../route-doc.js";
import { Completion, CompletionChunk, CompletionRequest } from "./protocol.js";
import type { CompletionsService } from "./service.js";

export const completionsRoutes: readonly RouteDoc[] = [
  { method: "post", path: "/v1/completions", summary: "Text completion (OpenAI-compatible)", request: CompletionRequest, response: Completion, streamEvent: CompletionChunk },
];

export function attachCompletionsRouter(router: Router, service: CompletionsService): void {
  router.post("/v1/completions", async (req, res) => {
    const parsed = parseRequest(CompletionRequest, req.body);
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
