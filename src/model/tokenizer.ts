/**
 * Byte-level BPE tokenizer (GPT-2 style): text is split into chunks by a
 * regex, each chunk's UTF-8 bytes are the base tokens 0..255, and ranked
 * merges build larger tokens. One special token, end-of-text, follows the
 * merged tokens.
 */
import { z } from "zod";
import { summarizeIssues, versioned } from "../core/read-artifact.js";

/** `tokenizer.json`'s shape; what its merges and ids must satisfy together is fromJSON's to check. */
export const TokenizerJSON = versioned(
  "version",
  z.object({
    type: z.literal("byte-bpe"),
    version: z.literal(1),
    vocab_size: z.int(),
    eot_id: z.int(),
    pattern: z.string().min(1),
    /** In rank order; merge i creates token id 256 + i. */
    merges: z.array(z.tuple([z.int().nonnegative(), z.int().nonnegative()])),
  }),
);
export type TokenizerJSON = z.infer<typeof TokenizerJSON>;

export interface StreamDecoder {
  /** Returns newly completed text; an incomplete trailing UTF-8 sequence is held back. */
  push(ids: readonly number[]): string;
  /** Returns whatever is held back (invalid remainder becomes U+FFFD) and resets. */
  flush(): string;
}

/** GPT-2 pre-tokenization pattern, compiled with flags "gu". */
export const GPT2_PATTERN = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

export const BYTE_VOCAB = 256;

/**
 * The chunk cache holds short chunks only (the common words), and at most this many characters in
 * all: a client sending millions of distinct long "words" must not grow it without bound.
 */
const CACHEABLE_CHUNK_CHARS = 64;
const CACHE_CHAR_LIMIT = 2_000_000;

const utf8Encoder = new TextEncoder();

// ignoreBOM: a leading U+FEFF is content, and stripping it would break round trips.
function utf8Decoder(): TextDecoder {
  return new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });
}

export function compilePattern(pattern: string): RegExp {
  return new RegExp(pattern, "gu");
}

/**
 * Calls `fn` for each pre-tokenization chunk of `text`, in order. Text the
 * pattern does not match is still emitted as chunks, so the chunks always
 * concatenate back to `text` even for a custom pattern loaded from JSON.
 */
export function forEachChunk(text: string, re: RegExp, fn: (chunk: string) => void): void {
  let pos = 0;
  for (const m of text.matchAll(re)) {
    const chunk = m[0];
    if (chunk.length === 0) continue;
    if (m.index > pos) fn(text.slice(pos, m.index));
    fn(chunk);
    pos = m.index + chunk.length;
  }
  if (pos < text.length) fn(text.slice(pos));
}

/**
 * Merges every non-overlapping occurrence of (a, b), left to right, into `id`.
 * Shared by encoding and training so both segment identically.
 */
export function mergePair(ids: readonly number[], a: number, b: number, id: number): number[] {
  const out: number[] = [];
  let i = 0;
  while (i < ids.length) {
    if (i + 1 < ids.length && ids[i] === a && ids[i + 1] === b) {
      out.push(id);
      i += 2;
    } else {
      out.push(ids[i]!);
      i += 1;
    }
  }
  return out;
}

function fail(message: string): never {
  throw new Error(`Invalid tokenizer JSON: ${message}`);
}

export class Tokenizer {
  readonly vocabSize: number;
  readonly eotId: number;

  private readonly pattern: string;
  private readonly re: RegExp;
  private readonly merges: readonly (readonly [number, number])[];
  private readonly bytesOf: Uint8Array[];
  private readonly cache = new Map<string, readonly number[]>();
  private cachedChars = 0;
  private readonly decoder = utf8Decoder();

  private constructor(merges: readonly (readonly [number, number])[], pattern: string) {
    this.merges = merges;
    this.pattern = pattern;
    this.re = compilePattern(pattern);
    this.eotId = BYTE_VOCAB + merges.length;
    this.vocabSize = this.eotId + 1;

    this.bytesOf = [];
    for (let i = 0; i < BYTE_VOCAB; i++) this.bytesOf.push(Uint8Array.of(i));
    merges.forEach(([a, b]) => {
      const left = this.bytesOf[a]!;
      const right = this.bytesOf[b]!;
      const joined = new Uint8Array(left.length + right.length);
      joined.set(left, 0);
      joined.set(right, left.length);
      this.bytesOf.push(joined);
    });
    this.bytesOf.push(new Uint8Array(0)); // eot carries no bytes
  }

  static fromJSON(json: TokenizerJSON): Tokenizer {
    // Input usually comes from JSON.parse, so check everything at runtime.
    const parsed = TokenizerJSON.safeParse(json);
    if (!parsed.success) fail(summarizeIssues(parsed.error));
    const j = parsed.data;
    try {
      compilePattern(j.pattern);
    } catch (err) {
      fail(`pattern does not compile with flags "gu": ${(err as Error).message}`);
    }
    const merges: [number, number][] = [];
    const seen = new Set<string>();
    j.merges.forEach(([a, b], i) => {
      const nextId = BYTE_VOCAB + i;
      // A merge may only combine tokens that exist before it.
      if (a >= nextId || b >= nextId) fail(`merges[${i}] = [${a}, ${b}] references a token id >= ${nextId}`);
      const key = `${a},${b}`;
      if (seen.has(key)) fail(`merges[${i}] = [${a}, ${b}] is a duplicate`);
      seen.add(key);
      merges.push([a, b]);
    });
    const eot = BYTE_VOCAB + merges.length;
    if (j.eot_id !== eot) fail(`eot_id must be ${eot} (256 + merges.length), got ${JSON.stringify(j.eot_id)}`);
    if (j.vocab_size !== eot + 1) {
      fail(`vocab_size must be ${eot + 1} (257 + merges.length), got ${JSON.stringify(j.vocab_size)}`);
    }
    return new Tokenizer(merges, j.pattern);
  }

  toJSON(): TokenizerJSON {
    return {
      type: "byte-bpe",
      version: 1,
      vocab_size: this.vocabSize,
      eot_id: this.eotId,
      pattern: this.pattern,
      merges: this.merges.map(([a, b]) => [a, b]),
    };
  }

  /** Never emits eotId: a literal "<|endoftext|>" is encoded as ordinary bytes. */
  encode(text: string): number[] {
    const out: number[] = [];
    forEachChunk(text, this.re, (chunk) => {
      for (const id of this.encodeChunk(chunk)) out.push(id);
    });
    return out;
  }

  decodeBytes(ids: readonly number[]): Uint8Array {
    let length = 0;
    for (const id of ids) length += this.bytesFor(id).length;
    const out = new Uint8Array(length);
    let offset = 0;
    for (const id of ids) {
      const bytes = this.bytesOf[id]!;
      out.set(bytes, offset);
      offset += bytes.length;
    }
    return out;
  }

  /** Invalid UTF-8 (e.g. a cut-off multi-byte sequence) becomes U+FFFD. */
  decode(ids: readonly number[]): string {
    return this.decoder.decode(this.decodeBytes(ids));
  }

  tokenBytes(id: number): Uint8Array {
    return this.bytesFor(id).slice();
  }

  createStreamDecoder(): StreamDecoder {
    const decoder = utf8Decoder();
    return {
      push: (ids) => decoder.decode(this.decodeBytes(ids), { stream: true }),
      flush: () => decoder.decode(),
    };
  }

  private bytesFor(id: number): Uint8Array {
    if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) {
      throw new RangeError(`Token id ${id} is out of range [0, ${this.vocabSize})`);
    }
    return this.bytesOf[id]!;
  }

  private encodeChunk(chunk: string): readonly number[] {
    const cacheable = chunk.length <= CACHEABLE_CHUNK_CHARS;
    const cached = cacheable ? this.cache.get(chunk) : undefined;
    if (cached !== undefined) return cached;
    const ids = this.mergeBytes(utf8Encoder.encode(chunk));
    if (cacheable) {
      if (this.cachedChars + chunk.length > CACHE_CHAR_LIMIT) {
        this.cache.clear();
        this.cachedChars = 0;
      }
      this.cache.set(chunk, ids);
      this.cachedChars += chunk.length;
    }
    return ids;
  }

  /**
   * Standard BPE (repeatedly apply the lowest-rank merge present) in one pass per merge, in rank
   * order: merge r only joins tokens older than its own, so applying it never creates a pair of a lower
   * rank, and the lowest rank present only grows. Linear in the chunk for a fixed merge table, also for
   * a pathological megabyte-long "word".
   */
  private mergeBytes(bytes: Uint8Array): number[] {
    const ids = Uint16Array.from(bytes);
    let length = ids.length;
    for (let rank = 0; rank < this.merges.length && length >= 2; rank++) {
      const [a, b] = this.merges[rank]!;
      const id = BYTE_VOCAB + rank;
      let out = 0;
      for (let i = 0; i < length; i++) {
        if (i + 1 < length && ids[i] === a && ids[i + 1] === b) {
          ids[out++] = id;
          i++;
        } else {
          ids[out++] = ids[i]!;
        }
      }
      length = out;
    }
    return Array.from(ids.subarray(0, length));
  }
}
