/** Public object ids: a type prefix and 24 random hex digits (chatcmpl-…, cmpl-…, inf-…), as OpenAI shapes them. */
import { randomBytes } from "node:crypto";

export function newId(prefix: string): string {
  return `${prefix}-${randomBytes(12).toString("hex")}`;
}
