/**
 * Freshness of request nonces. A verifier that must not accept the same inference twice (a replayed
 * request) records each (model, nonce) it accepts; the store and the on-chain registry implement the
 * same port later.
 */
export interface NonceLedger {
  /** Records the nonce; false when it was recorded before. */
  claim(modelId: string, nonce: string): Promise<boolean>;
}
