/** Unknown request fields are accepted and dropped; this logs which ones, so clients can find typos. */
import type { Request } from "express";

export function logIgnoredFields(req: Request, fields: readonly string[]): void {
  if (fields.length > 0) req.log?.info({ ignored_fields: fields }, "ignored unknown request fields");
}
