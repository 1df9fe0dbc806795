/** `Authorization: Bearer <key>` against PROOFGATE_API_KEYS, compared in constant time. */
import { createHash, timingSafeEqual } from "node:crypto";
import type { RequestHandler } from "express";
import { ProofgateError } from "../core/errors.js";

const digest = (key: string): Buffer => createHash("sha256").update(key).digest();

/** The bearer token of a request, if any. */
export function bearerToken(header: string | undefined): string | null {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? "");
  return match ? match[1]! : null;
}

export function requireApiKey(keys: readonly string[]): RequestHandler {
  const digests = keys.map(digest);
  return (req, _res, next) => {
    const token = bearerToken(req.headers.authorization);
    if (token === null) throw new ProofgateError("unauthorized", "Missing API key: send Authorization: Bearer <key>");
    const presented = digest(token);
    if (!digests.some((d) => timingSafeEqual(d, presented))) throw new ProofgateError("unauthorized", "Incorrect API key provided");
    next();
  };
}
