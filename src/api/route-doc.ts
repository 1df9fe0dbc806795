/**
 * A route as data, so /openapi.json is built from the same zod schemas the routers validate with, and
 * the routers mount each route from its entry (method and path written once).
 */
import type { RequestHandler, Router } from "express";
import type { z } from "zod";

export interface RouteDoc {
  readonly method: "get" | "post";
  /** OpenAPI path syntax: /v1/models/{id}. */
  readonly path: string;
  readonly summary: string;
  readonly request?: z.ZodType;
  /** The query string a GET route reads (documented as `in: query` parameters). */
  readonly query?: z.ZodObject;
  /** The JSON answer (200). */
  readonly response: z.ZodType;
  /** The SSE event payload when the request asks for `stream: true`. */
  readonly streamEvent?: z.ZodType;
  /** The response body is not JSON (e.g. Prometheus text). */
  readonly contentType?: string;
}

/**
 * Registers `handler` for `route`: its method, and its OpenAPI path (`{id}`) in Express's syntax
 * (`:id`). Such a parameter is one path segment, so a string (Express types allow arrays for `*name`).
 */
export function mount<P extends Record<string, string> = Record<string, string>>(
  router: Router,
  route: RouteDoc,
  handler: RequestHandler<P>,
): void {
  router[route.method](route.path.replace(/\{(\w+)\}/g, ":$1"), handler as unknown as RequestHandler);
}
