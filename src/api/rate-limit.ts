/**
 * Per-client request limit: a fixed one-minute window per API key (or client address when keys are
 * off). Over the limit → 429 `rate_limited` with `retry-after` set to the seconds left in the window.
 */
import type { RequestHandler } from "express";
import { ProofgateError } from "../core/errors.js";
import { bearerToken } from "./api-keys.js";

const WINDOW_MS = 60_000;

export function limitRequestRate(perMinute: number, now: () => number = Date.now): RequestHandler {
  const windows = new Map<string, { start: number; count: number }>();
  return (req, res, next) => {
    const key = bearerToken(req.headers.authorization) ?? `ip:${req.ip}`;
    const t = now();
    let window = windows.get(key);
    if (!window || t - window.start >= WINDOW_MS) {
      // drop expired windows now and then so idle clients do not accumulate
      if (windows.size > 10_000) for (const [k, w] of windows) if (t - w.start >= WINDOW_MS) windows.delete(k);
      window = { start: t, count: 0 };
      windows.set(key, window);
    }
    window.count++;
    if (window.count > perMinute) {
      res.setHeader("retry-after", String(Math.ceil((window.start + WINDOW_MS - t) / 1000)));
      throw new ProofgateError("rate_limited", `Rate limit reached: ${perMinute} requests per minute`, { retryable: true });
    }
    next();
  };
}
