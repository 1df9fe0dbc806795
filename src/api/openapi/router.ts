/** HTTP of GET /openapi.json. */
import type { Router } from "express";
import { z } from "zod";
import type { RouteDoc } from "../route-doc.js";

export const openApiRoutes: readonly RouteDoc[] = [
  { method: "get", path: "/openapi.json", summary: "This API as OpenAPI 3.1", response: z.record(z.string(), z.unknown()) },
];

export function attachOpenApiRouter(router: Router, document: Record<string, unknown>): void {
  router.get("/openapi.json", (_req, res) => {
    res.json(document);
  });
}
