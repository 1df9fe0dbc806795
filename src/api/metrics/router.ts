/** HTTP of GET /metrics (Prometheus text), and the middleware that counts and times every request. */
import type { RequestHandler, Router } from "express";
import { z } from "zod";
import { mount, type RouteDoc } from "../route-doc.js";
import type { GatewayMetrics } from "./gateway-metrics.js";

const metricsText: RouteDoc = {
  method: "get",
  path: "/metrics",
  summary: "Prometheus metrics",
  response: z.string(),
  contentType: "text/plain; version=0.0.4",
};
export const metricsRoutes: readonly RouteDoc[] = [metricsText];

export function attachMetricsRouter(router: Router, metrics: GatewayMetrics): void {
  mount(router, metricsText, async (_req, res) => {
    res.type(metrics.contentType).send(await metrics.text());
  });
}

/** Records each request when its response ends (or the client leaves), labelled by its route pattern. */
export function recordRequests(metrics: GatewayMetrics): RequestHandler {
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    let recorded = false;
    const record = (): void => {
      if (recorded) return;
      recorded = true;
      const route = req.route ? `${req.baseUrl}${String(req.route.path)}` : "unmatched";
      metrics.recordRequest(req.method, route, res.statusCode, Number(process.hrtime.bigint() - started) / 1e9);
    };
    res.on("finish", record);
    res.on("close", record);
    next();
  };
}
