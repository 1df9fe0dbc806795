/** A route as data, so /openapi.json is built from the same zod schemas the routers validate with. */
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
