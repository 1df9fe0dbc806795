/**
 * An API key's `proof_steps_per_hour`: the step proofs its proven completions may cost in any rolling
 * hour. A request is charged when it is accepted, at its ceiling (choices × max_tokens, what
 * max_proof_steps limits), so a client can tell up front what it will be charged. Spent → 429
 * `insufficient_quota` with `retry-after` set to when enough of the hour's charges expire.
 *
 * Charges are kept in buckets of a minute, each expiring an hour after its last charge (never early),
 * so a key holds at most 61 and memory stays bounded: only the named keys of the file have a quota.
 */
import type { Request, Response } from "express";
import { ProofgateError } from "../core/errors.js";
import { apiKeyOf } from "./api-keys.js";

const HOUR_MS = 3_600_000;
const BUCKET_MS = 60_000;

interface Bucket {
  readonly start: number;
  last: number;
  steps: number;
}

export interface ProofStepQuotaOptions {
  readonly now?: () => number;
  /** Told of each refusal (the gateway counts them in /metrics). */
  readonly onRefused?: () => void;
}

export class ProofStepQuota {
  private readonly spent = new Map<string, Bucket[]>();
  private readonly now: () => number;
  private readonly onRefused: () => void;

  constructor({ now = Date.now, onRefused = () => undefined }: ProofStepQuotaOptions = {}) {
    this.now = now;
    this.onRefused = onRefused;
  }

  /** Charges `steps` to the request's key, or refuses the request; nothing for a key without a quota. */
  charge(req: Request, res: Response, steps: number): void {
    const key = apiKeyOf(req);
    const quota = key?.limits.proofStepsPerHour;
    if (!key || quota === undefined || steps === 0) return;
    if (steps > quota) {
      throw new ProofgateError(
        "invalid_argument",
        `This request may cost ${steps} step proofs; this API key may spend ${quota} per hour. Lower max_tokens or n, or send "proof": false`,
      );
    }
    const t = this.now();
    const buckets = (this.spent.get(key.name) ?? []).filter((b) => t - b.last < HOUR_MS);
    const used = buckets.reduce((sum, b) => sum + b.steps, 0);
    if (used + steps > quota) {
      // the oldest charges expire first: wait until enough of them have for this request to fit
      let freed = 0;
      const fits = buckets.find((b) => {
        freed += b.steps;
        return used - freed + steps <= quota;
      })!;
      const retryAfterS = Math.max(1, Math.ceil((fits.last + HOUR_MS - t) / 1000));
      this.spent.set(key.name, buckets);
      this.onRefused();
      res.setHeader("retry-after", String(retryAfterS));
      throw new ProofgateError(
        "insufficient_quota",
        `This API key's proof quota is spent: ${used} of ${quota} step proofs in the last hour, and this request may cost ${steps}. Try again in ${retryAfterS} s, ask for fewer tokens, or send "proof": false`,
        { retryable: true },
      );
    }
    const current = buckets.at(-1);
    if (current && t - current.start < BUCKET_MS) {
      current.last = t;
      current.steps += steps;
    } else buckets.push({ start: t, last: t, steps });
    this.spent.set(key.name, buckets);
  }
}
