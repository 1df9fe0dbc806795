/** HTTP of GET /health (503 with the error envelope until ready). */
import type { Router } from "express";
import { mount, type RouteDoc } from "../route-doc.js";
import { Health } from "./protocol.js";
import type { HealthService } from "./service.js";

const health: RouteDoc = { method: "get", path: "/health", summary: "Readiness and device", response: Health };
export const healthRoutes: readonly RouteDoc[] = [health];

export function attachHealthRouter(router: Router, service: HealthService): void {
  mount(router, health, (_req, res) => {
    res.json(service.check());
  });
}
