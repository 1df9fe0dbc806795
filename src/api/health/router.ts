/** HTTP of GET /health (503 with the error envelope until ready). */
import type { Router } from "express";
import type { RouteDoc } from "../route-doc.js";
import { Health } from "./protocol.js";
import type { HealthService } from "./service.js";

export const healthRoutes: readonly RouteDoc[] = [{ method: "get", path: "/health", summary: "Readiness and device", response: Health }];

export function attachHealthRouter(router: Router, service: HealthService): void {
  router.get("/health", (_req, res) => {
    res.json(service.check());
  });
}
