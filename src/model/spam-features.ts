/**
 * Text → the spam classifier's input: a presence bit per hashed word bucket. Words are runs of ASCII
 * letters and digits, lower-cased, hashed with 32-bit FNV-1a (cheap to recompute in Solidity, so a
 * contract can check that a proof is about exactly the text it holds).
 */
import { z } from "zod";
import { readArtifact } from "../core/read-artifact.js";

export const SpamFeaturizerJSON = z.object({
  type: z.literal("hashed-words"),
  buckets: z.int(),
  hash: z.literal("fnv1a-32"),
  pattern: z.string(),
});
export type SpamFeaturizerJSON = z.infer<typeof SpamFeaturizerJSON>;

export const SPAM_FEATURIZER: SpamFeaturizerJSON = {
  type: "hashed-words",
  buckets: 1024,
  hash: "fnv1a-32",
  pattern: "[a-z0-9]+",
};

/** A classifier folder's `featurizer.json`: what it leaves out is SPAM_FEATURIZER's. */
export async function readFeaturizer(path: string): Promise<SpamFeaturizerJSON> {
  return { ...SPAM_FEATURIZER, ...(await readArtifact(path, SpamFeaturizerJSON.partial())) };
}

export function fnv1a32(bytes: Uint8Array): number {
  let h = 0x811c9dc5;
  for (const b of bytes) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  return h >>> 0;
}

export function spamFeatures(text: string, featurizer: SpamFeaturizerJSON = SPAM_FEATURIZER): Float32Array {
  const out = new Float32Array(featurizer.buckets);
  const encoder = new TextEncoder();
  for (const word of text.toLowerCase().match(new RegExp(featurizer.pattern, "g")) ?? []) {
    out[fnv1a32(encoder.encode(word)) % featurizer.buckets] = 1;
  }
  return out;
}
