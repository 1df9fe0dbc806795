/** HTTP of GET /v1/models, GET /v1/models/{id} and GET /v1/models/{id}/setup. */
import type { Router } from "express";
import { mount, type RouteDoc } from "../route-doc.js";
import { ModelList, ModelObject, SetupTranscript } from "./protocol.js";
import type { ModelsService } from "./service.js";

const list: RouteDoc = { method: "get", path: "/v1/models", summary: "List the served models", response: ModelList };
export const modelsRoutes: readonly RouteDoc[] = [
  list,
  { method: "get", path: "/v1/models/{id}", summary: "One served model", response: ModelObject },
  {
    method: "get",
    path: "/v1/models/{id}/setup",
    summary:
      "The trusted setup transcript of a provable model's circuit (setup.json): phase-1 file, phase-2 contributions in order, final beacon; 404 when it has none",
    response: SetupTranscript,
  },
];

export function attachModelsRouter(router: Router, service: ModelsService): void {
  mount(router, list, (_req, res) => {
    res.json(service.list());
  });
  // model ids may contain slashes (org/name), so the id is the rest of the path: one Express route for
  // both documented ones; "<id>/setup" is the model's setup transcript unless a model is itself named so
  router.get("/v1/models/*id", async (req, res) => {
    const path = (req.params.id as unknown as string[]).join("/");
    const setupOf = path.endsWith("/setup") && !service.has(path) ? path.slice(0, -"/setup".length) : null;
    res.json(setupOf === null ? service.get(path) : await service.setup(setupOf));
  });
}
