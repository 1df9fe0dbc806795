/** NonceLedger in memory, for one process. */
import type { NonceLedger } from "./nonce-ledger.js";

export class NonceLedgerMemory implements NonceLedger {
  private readonly seen = new Set<string>();

  async claim(modelId: string, nonce: string): Promise<boolean> {
    const key = `${modelId}:${BigInt(nonce)}`;
    if (this.seen.has(key)) return false;
    this.seen.add(key);
    return true;
  }
}
