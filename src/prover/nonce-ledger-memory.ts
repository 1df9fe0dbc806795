/** NonceLedger in memory, for one process. */
import type { NonceLedger } from "./nonce-ledger.js";

export class NonceLedgerMemory implements NonceLedger {
  private readonly seen = new Set<string>();

  async claim(modelId: string, key: string): Promise<boolean> {
    const entry = `${modelId}:${key}`;
    if (this.seen.has(entry)) return false;
    this.seen.add(entry);
    return true;
  }
}
