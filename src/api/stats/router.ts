/** HTTP of GET /v1/stats (`?window=`). */
import type { Router } from "express";
import { logIgnoredFields } from "../log-ignored-fields.js";
import { parseRequest } from "../request-validation.js";
import { mount, type RouteDoc } from "../route-doc.js";
import { STATS_WINDOW_DEFAULT, STATS_WINDOW_MAX, Stats, StatsQuery } from "./protocol.js";
import type { StatsService } from "./service.js";

const stats: RouteDoc = {
  method: "get",
  path: "/v1/stats",
  summary: `Proof counts per model and per worker, and latencies, over the newest ?window= records (default ${STATS_WINDOW_DEFAULT}, at most ${STATS_WINDOW_MAX})`,
  query: StatsQuery,
  response: Stats,
};
export const statsRoutes: readonly RouteDoc[] = [stats];

export function attachStatsRouter(router: Router, service: StatsService): void {
  mount(router, stats, async (req, res) => {
    const query = parseRequest(StatsQuery, req.query);
    logIgnoredFields(req, query.ignoredFields);
    res.json(await service.stats(query.value.window));
  });
}
