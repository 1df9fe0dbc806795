/**
 * Freshness of inferences. A verifier that must not accept the same inference twice (a replayed
 * request) records what names each one it accepts: a canonical value read from the public signals
 * (the input commitment, or the state a step starts from, both holding the nonce), never the file's
 * own writing of its nonce, which has other spellings that prove the same.
 */
export interface NonceLedger {
  /** Records the inference's key for the model; false when it was recorded before. */
  claim(modelId: string, key: string): Promise<boolean>;
}
