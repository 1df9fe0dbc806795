import { BYTE_VOCAB, GPT2_PATTERN, Tokenizer, compilePattern, forEachChunk, mergePair } from "../model/tokenizer.js";

export interface TrainTokenizerOptions {
  texts: readonly string[];
  /**
   * Target vocabulary size including the 256 byte tokens and the eot token.
   * Training stops early (smaller vocab) if the corpus runs out of pairs.
   */
  vocabSize: number;
  /** called after each merge */
  onProgress?: (done: number, total: number) => void;
}

/** Max-heap of (count, pair key): higher count first, then lower key (= lower first id, then second). */
class PairHeap {
  private readonly counts: number[] = [];
  private readonly keys: number[] = [];

  get size(): number {
    return this.keys.length;
  }

  push(count: number, key: number): void {
    this.counts.push(count);
    this.keys.push(key);
    let i = this.keys.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.before(i, parent)) break;
      this.swap(i, parent);
      i = parent;
    }
  }

  pop(): { count: number; key: number } {
    const top = { count: this.counts[0]!, key: this.keys[0]! };
    const lastCount = this.counts.pop()!;
    const lastKey = this.keys.pop()!;
    if (this.keys.length > 0) {
      this.counts[0] = lastCount;
      this.keys[0] = lastKey;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let best = i;
        if (l < this.keys.length && this.before(l, best)) best = l;
        if (r < this.keys.length && this.before(r, best)) best = r;
        if (best === i) break;
        this.swap(i, best);
        i = best;
      }
    }
    return top;
  }

  private before(i: number, j: number): boolean {
    const ci = this.counts[i]!;
    const cj = this.counts[j]!;
    return ci > cj || (ci === cj && this.keys[i]! < this.keys[j]!);
  }

  private swap(i: number, j: number): void {
    [this.counts[i], this.counts[j]] = [this.counts[j]!, this.counts[i]!];
    [this.keys[i], this.keys[j]] = [this.keys[j]!, this.keys[i]!];
  }
}

/**
 * Classic byte-level BPE over unique pre-tokenization chunks, with pair counts
 * updated incrementally: only the chunks containing the merged pair are
 * re-counted. Deterministic for the same texts.
 */
export function trainTokenizer(options: TrainTokenizerOptions): Tokenizer {
  const { texts, vocabSize, onProgress } = options;
  if (!Number.isInteger(vocabSize) || vocabSize < BYTE_VOCAB + 1) {
    throw new Error(`trainTokenizer: vocabSize must be an integer >= ${BYTE_VOCAB + 1}, got ${vocabSize}`);
  }
  const totalMerges = vocabSize - BYTE_VOCAB - 1;

  const chunkCounts = new Map<string, number>();
  const re = compilePattern(GPT2_PATTERN);
  for (const text of texts) {
    forEachChunk(text, re, (chunk) => chunkCounts.set(chunk, (chunkCounts.get(chunk) ?? 0) + 1));
  }

  const encoder = new TextEncoder();
  const words: number[][] = [];
  const freqs: number[] = [];
  for (const [chunk, count] of chunkCounts) {
    words.push(Array.from(encoder.encode(chunk)));
    freqs.push(count);
  }

  // Token ids stay below vocabSize, so the key orders pairs by (first, second).
  const keyOf = (a: number, b: number) => a * vocabSize + b;
  const pairCounts = new Map<number, number>();
  const pairWords = new Map<number, Set<number>>();
  const touched = new Set<number>();

  const addPairs = (w: number, sign: 1 | -1) => {
    const word = words[w]!;
    const delta = sign * freqs[w]!;
    for (let i = 0; i + 1 < word.length; i++) {
      const key = keyOf(word[i]!, word[i + 1]!);
      const count = (pairCounts.get(key) ?? 0) + delta;
      if (count === 0) pairCounts.delete(key);
      else pairCounts.set(key, count);
      touched.add(key);
      if (sign > 0) {
        let set = pairWords.get(key);
        if (set === undefined) {
          set = new Set();
          pairWords.set(key, set);
        }
        set.add(w);
      }
    }
  };

  const heap = new PairHeap();
  // Heap entries go stale as counts change; an entry is valid only if it matches the current count.
  const refreshHeap = () => {
    for (const key of touched) {
      const count = pairCounts.get(key);
      if (count !== undefined) heap.push(count, key);
    }
    touched.clear();
  };

  for (let w = 0; w < words.length; w++) addPairs(w, 1);
  refreshHeap();

  const merges: [number, number][] = [];
  while (merges.length < totalMerges && heap.size > 0) {
    const { count, key } = heap.pop();
    if (pairCounts.get(key) !== count) continue;

    const a = Math.floor(key / vocabSize);
    const b = key % vocabSize;
    const id = BYTE_VOCAB + merges.length;
    merges.push([a, b]);

    // Sets are not pruned when a word loses a pair, so some entries may no longer contain it.
    for (const w of pairWords.get(key)!) {
      const merged = mergePair(words[w]!, a, b, id);
      if (merged.length === words[w]!.length) continue;
      addPairs(w, -1);
      words[w] = merged;
      addPairs(w, 1);
    }
    pairWords.delete(key);
    refreshHeap();
    onProgress?.(merges.length, totalMerges);
  }

  const eot = BYTE_VOCAB + merges.length;
  return Tokenizer.fromJSON({
    type: "byte-bpe",
    version: 1,
    vocab_size: eot + 1,
    eot_id: eot,
    pattern: GPT2_PATTERN,
    merges,
  });
}
