/** HTTP of GET /openapi.json. */
import type { Router } from "express";
import { z } from "zod";
import { mount, type RouteDoc } from "../route-doc.js";

const openApi: RouteDoc = {
  method: "get",
  path: "/openapi.json",
  summary: "This API as OpenAPI 3.1",
  response: z.record(z.string(), z.unknown()),
};
export const openApiRoutes: readonly RouteDoc[] = [openApi];

export function attachOpenApiRouter(router: Router, document: Record<string, unknown>): void {
  mount(router, openApi, (_req, res) => {
    res.json(document);
  });
}
