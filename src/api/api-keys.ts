/**
 * `Authorization: Bearer <key>` against the gateway's keys (PROOFGATE_API_KEYS and the named ones of
 * PROOFGATE_API_KEYS_FILE), compared in constant time. The key a request was let in with, its name
 * and limits, is what every per-client limit then reads (`apiKeyOf`, `clientKey`).
 */
import { timingSafeEqual } from "node:crypto";
import type { Request, RequestHandler } from "express";
import type { Config } from "../config/config.js";
import { keySha256, type KeyLimits, type NamedApiKey } from "../config/api-keys-file.js";
import { ProofgateError } from "../core/errors.js";

/** A key the gateway accepts. */
export interface ApiKey {
  readonly name: string;
  readonly limits: KeyLimits;
}

/** Every key of the config: the plain ones (named by their place in PROOFGATE_API_KEYS, server limits) and the named ones. */
export function apiKeysOf(config: Pick<Config, "apiKeys" | "namedApiKeys">): NamedApiKey[] {
  // "#" is not allowed in a file's names, so these never clash with them
  const plain = config.apiKeys.map((key, i) => ({
    name: `PROOFGATE_API_KEYS#${i + 1}`,
    sha256: keySha256(key),
    limits: {},
  }));
  return [...plain, ...config.namedApiKeys];
}

/** The bearer token of a request, if any. */
export function bearerToken(header: string | undefined): string | null {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? "");
  return match ? match[1]! : null;
}

const authenticated = new WeakMap<Request, ApiKey>();

/** The key `requireApiKey` let this request in with; null when keys are off. */
export function apiKeyOf(req: Request): ApiKey | null {
  return authenticated.get(req) ?? null;
}

/**
 * Who per-client limits count against: the request's key (by name), else its client address — never
 * an unchecked bearer token, which would let a client pick a fresh count per request.
 */
export function clientKey(req: Request): string {
  const key = apiKeyOf(req);
  return key ? `key:${key.name}` : `ip:${req.socket.remoteAddress ?? "unknown"}`;
}

export function requireApiKey(keys: readonly NamedApiKey[]): RequestHandler {
  const known = keys.map((k) => ({ digest: Buffer.from(k.sha256, "hex"), key: { name: k.name, limits: k.limits } }));
  return (req, _res, next) => {
    const token = bearerToken(req.headers.authorization);
    if (token === null) throw new ProofgateError("unauthorized", "Missing API key: send Authorization: Bearer <key>");
    const presented = Buffer.from(keySha256(token), "hex");
    const match = known.find((k) => timingSafeEqual(k.digest, presented));
    if (!match) throw new ProofgateError("unauthorized", "Incorrect API key provided");
    authenticated.set(req, match.key);
    next();
  };
}
