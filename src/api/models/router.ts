/** HTTP of GET /v1/models and GET /v1/models/{id}. */
import type { Router } from "express";
import type { RouteDoc } from "../route-doc.js";
import { ModelList, ModelObject } from "./protocol.js";
import type { ModelsService } from "./service.js";

export const modelsRoutes: readonly RouteDoc[] = [
  { method: "get", path: "/v1/models", summary: "List the served models", response: ModelList },
  { method: "get", path: "/v1/models/{id}", summary: "One served model", response: ModelObject },
];

export function attachModelsRouter(router: Router, service: ModelsService): void {
  router.get("/v1/models", (_req, res) => {
    res.json(service.list());
  });
  // model ids may contain slashes (org/name), so the id is the rest of the path
  router.get("/v1/models/*id", (req, res) => {
    res.json(service.get((req.params.id as unknown as string[]).join("/")));
  });
}
