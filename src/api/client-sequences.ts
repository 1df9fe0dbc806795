/**
 * Sequences one client (its API key, else its address) may have generating at once, so a single
 * request of 20 prompts × n 16, or many parallel ones, cannot take every batch slot from everyone else.
 * The limit is the key's `max_sequences`, else the server's.
 * Over the limit → 429 `overloaded` (retry-after), the same answer as a full batch.
 */
import type { Request } from "express";
import { ProofgateError } from "../core/errors.js";
import { apiKeyOf, clientKey } from "./api-keys.js";

export class ClientSequences {
  private readonly active = new Map<string, number>();

  constructor(
    private readonly perClient: number,
    /** Told of each refusal (the gateway counts them in /metrics). */
    private readonly onRefused: () => void = () => undefined,
  ) {}

  /** Takes `count` sequences for the request's client; the returned function gives them back (once). */
  acquire(req: Request, count: number): () => void {
    const client = clientKey(req);
    const limit = apiKeyOf(req)?.limits.maxSequences ?? this.perClient;
    const held = this.active.get(client) ?? 0;
    if (held + count > limit) {
      this.onRefused();
      throw new ProofgateError(
        "overloaded",
        `This client already generates ${held} sequence(s); at most ${limit} at once (this request asks for ${count})`,
        { retryable: true },
      );
    }
    this.active.set(client, held + count);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.active.get(client) ?? count) - count;
      if (left > 0) this.active.set(client, left);
      else this.active.delete(client);
    };
  }

  /** Clients with sequences running (the map never holds an idle one). */
  get clients(): number {
    return this.active.size;
  }
}
