/**
 * Per-client request limit: a fixed one-minute window per authenticated API key, or per client address
 * when keys are off (see clientKey). The limit is the key's `requests_per_minute`, else the server's.
 * Over the limit → 429 `rate_limited` with `retry-after` set to the seconds left in the window.
 */
import type { RequestHandler } from "express";
import { ProofgateError } from "../core/errors.js";
import { apiKeyOf, clientKey } from "./api-keys.js";

const WINDOW_MS = 60_000;
/** Windows kept at most: past it the oldest go first, so memory stays bounded under any key churn. */
export const MAX_RATE_WINDOWS = 50_000;

export interface RateLimitOptions {
  readonly now?: () => number;
  /** Told of each refusal (the gateway counts them in /metrics). */
  readonly onRefused?: () => void;
}

export class RequestRateLimiter {
  // insertion order = window start order, since a renewed window is deleted and set again
  private readonly windows = new Map<string, { start: number; count: number }>();
  private readonly now: () => number;
  private readonly onRefused: () => void;

  constructor(
    /** Requests per minute of a client whose key sets none; 0 = no limit for them. */
    private readonly perMinute: number,
    { now = Date.now, onRefused = () => undefined }: RateLimitOptions = {},
  ) {
    this.now = now;
    this.onRefused = onRefused;
  }

  /** Clients with a window open (bounded by MAX_RATE_WINDOWS). */
  get clients(): number {
    return this.windows.size;
  }

  readonly middleware: RequestHandler = (req, res, next) => {
    const limit = apiKeyOf(req)?.limits.requestsPerMinute ?? this.perMinute;
    if (limit === 0) return next();
    const key = clientKey(req);
    const t = this.now();
    let window = this.windows.get(key);
    if (!window || t - window.start >= WINDOW_MS) {
      this.windows.delete(key);
      for (const [k, w] of this.windows) {
        if (this.windows.size < MAX_RATE_WINDOWS && t - w.start < WINDOW_MS) break;
        this.windows.delete(k);
      }
      window = { start: t, count: 0 };
      this.windows.set(key, window);
    }
    window.count++;
    if (window.count > limit) {
      this.onRefused();
      res.setHeader("retry-after", String(Math.ceil((window.start + WINDOW_MS - t) / 1000)));
      throw new ProofgateError("rate_limited", `Rate limit reached: ${limit} requests per minute`, { retryable: true });
    }
    next();
  };
}
