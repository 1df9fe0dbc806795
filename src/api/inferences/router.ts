/** HTTP of POST /v1/inferences. */
import type { Router } from "express";
import { PROOF_ID_HEADER } from "../generation-response.js";
import { logIgnoredFields } from "../log-ignored-fields.js";
import { parseRequest } from "../request-validation.js";
import { mount, type RouteDoc } from "../route-doc.js";
import { Inference, InferenceRequest } from "./protocol.js";
import type { InferencesService } from "./service.js";

const inferences: RouteDoc = {
  method: "post",
  path: "/v1/inferences",
  summary: "One inference of any served model (text or tensor input)",
  request: InferenceRequest,
  response: Inference,
};
export const inferencesRoutes: readonly RouteDoc[] = [inferences];

export function attachInferencesRouter(router: Router, service: InferencesService): void {
  mount(router, inferences, async (req, res) => {
    const parsed = parseRequest(InferenceRequest, req.body);
    logIgnoredFields(req, parsed.ignoredFields);
    const inference = await service.infer(parsed.value);
    if (inference.proof) res.setHeader(PROOF_ID_HEADER, inference.proof.id);
    res.json(inference);
  });
}
