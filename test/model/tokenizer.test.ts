import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";

import { compilePattern, forEachChunk, Tokenizer, type TokenizerJSON } from "../../src/model/tokenizer.js";
import { trainTokenizer } from "../../src/training/tokenizer-train.js";
import { seededRandom } from "../fixtures/seeded-random.js";

const PARAGRAPH = `It was the best of times, it was the worst of times, it was the age of
wisdom, it was the age of foolishness, it was the epoch of belief, it was the
epoch of incredulity, it was the season of Light, it was the season of Darkness,
it was the spring of hope, it was the winter of despair, we had everything
before us, we had nothing before us, we were all going direct to Heaven, we were
all going direct the other way - in short, the period was so far like the present
period, that some of its noisiest authorities insisted on its being received, for
good or for evil, in the superlative degree of comparison only. There were a king
with a large jaw and a queen with a plain face, on the throne of England; there
were a king with a large jaw and a queen with a fair face, on the throne of
France. In both countries it was clearer than crystal to the lords of the State
preserves of loaves and fishes, that things in general were settled for ever.`;

const VOCAB = 300;
const texts = [PARAGRAPH, PARAGRAPH.toUpperCase(), "Numbers 1234 5678, and more: 2024-01-01."];
const tok = trainTokenizer({ texts, vocabSize: VOCAB });

const HARD_STRINGS = [
  "",
  "Hello, world!",
  "😀",
  "👩‍👩‍👧‍👦 family, 👩🏽‍💻 coder, 🏳️‍🌈 flag",
  "🇯🇵🇺🇸🇫🇷",
  "日本語のテキストと中文字符",
  "مرحبا بالعالم",
  "\u0000\u0001\u0007\t\r\n",
  "<|endoftext|>",
  "a<|endoftext|>b",
  " ".repeat(1000),
  "\n\n\n   \t\t  \r\n  x  ",
  "e\u0301 n\u0303 a\u030A\u0323",
  "\uFEFFleading BOM",
  "\u{10FFFF}\u{E0001}\uFFFF\uFFFE",
  "it's we'll they've I'm you'd",
];

function randomString(rand: () => number): string {
  const length = Math.floor(rand() * 40);
  let s = "";
  for (let i = 0; i < length; i++) {
    const r = rand();
    let cp: number;
    if (r < 0.3)
      cp = Math.floor(rand() * 0x80); // ASCII, incl. controls
    else if (r < 0.7)
      cp = Math.floor(rand() * 0x10000); // BMP
    else cp = 0x10000 + Math.floor(rand() * 0x100000); // astral planes
    if (cp >= 0xd800 && cp <= 0xdfff) cp = 0x20; // no lone surrogates
    s += String.fromCodePoint(cp);
  }
  return s;
}

describe("byte-level BPE tokenizer", () => {
  it("has the requested vocab layout", () => {
    assert.equal(tok.vocabSize, VOCAB);
    assert.equal(tok.eotId, VOCAB - 1);
    const json = tok.toJSON();
    assert.equal(json.merges.length, VOCAB - 257);
    assert.equal(json.vocab_size, VOCAB);
    assert.equal(json.eot_id, 256 + json.merges.length);
  });

  it("round-trips hard strings", () => {
    for (const s of HARD_STRINGS) {
      const ids = tok.encode(s);
      assert.ok(!ids.includes(tok.eotId), `eot emitted for ${JSON.stringify(s)}`);
      assert.equal(tok.decode(ids), s);
    }
  });

  it("round-trips 500 random strings across the BMP and astral planes", () => {
    const rand = seededRandom(12345);
    for (let i = 0; i < 500; i++) {
      const s = randomString(rand);
      assert.equal(tok.decode(tok.encode(s)), s, `failed on ${JSON.stringify(s)}`);
    }
  });

  it("does not throw on lone surrogates (they become U+FFFD)", () => {
    const cases: [string, string][] = [
      ["\uD800", "\uFFFD"],
      ["a\uDC00b", "a\uFFFDb"],
      ["\uDBFF\uD800x", "\uFFFD\uFFFDx"],
      ["😀\uD83D", "😀\uFFFD"],
    ];
    for (const [input, expected] of cases) {
      assert.equal(tok.decode(tok.encode(input)), expected);
    }
  });

  it("compresses English", () => {
    const sample = "It was the best of times, it was the worst of times.";
    const ids = tok.encode(sample);
    assert.ok(ids.length < new TextEncoder().encode(sample).length, `${ids.length} tokens`);
    assert.equal(tok.decode(ids), sample);
  });

  it("is deterministic", () => {
    const again = trainTokenizer({ texts, vocabSize: VOCAB });
    assert.deepStrictEqual(again.toJSON(), tok.toJSON());
  });

  it("reports progress after each merge", () => {
    const calls: [number, number][] = [];
    trainTokenizer({ texts, vocabSize: 260, onProgress: (done, total) => calls.push([done, total]) });
    assert.deepStrictEqual(calls, [
      [1, 3],
      [2, 3],
      [3, 3],
    ]);
  });

  it("rejects invalid vocabSize", () => {
    assert.throws(() => trainTokenizer({ texts, vocabSize: 256 }), /vocabSize/);
    assert.throws(() => trainTokenizer({ texts, vocabSize: 300.5 }), /vocabSize/);
  });

  it("survives toJSON/fromJSON with identical encodings", () => {
    const json: TokenizerJSON = JSON.parse(JSON.stringify(tok.toJSON()));
    const loaded = Tokenizer.fromJSON(json);
    assert.deepStrictEqual(loaded.toJSON(), tok.toJSON());
    for (const s of [PARAGRAPH, ...HARD_STRINGS]) {
      assert.deepStrictEqual(loaded.encode(s), tok.encode(s));
    }
  });

  it("fromJSON rejects malformed input", () => {
    const good = tok.toJSON();
    const bad: unknown[] = [
      null,
      { ...good, type: "bpe" },
      { ...good, version: 2 },
      { ...good, merges: "nope" },
      { ...good, merges: [[1, 2, 3]] },
      { ...good, merges: [[1, 999]], vocab_size: 258, eot_id: 257 },
      { ...good, vocab_size: good.vocab_size + 1 },
      { ...good, eot_id: 0 },
      { ...good, pattern: "(" },
    ];
    for (const b of bad) {
      assert.throws(() => Tokenizer.fromJSON(b as TokenizerJSON), /Invalid tokenizer JSON/);
    }
  });

  it("decodeBytes throws RangeError for out-of-range ids; eot decodes to nothing", () => {
    assert.throws(
      () => tok.decodeBytes([tok.vocabSize]),
      (err: unknown) => {
        return err instanceof RangeError && err.message.includes(String(tok.vocabSize));
      },
    );
    assert.throws(() => tok.decodeBytes([-1]), RangeError);
    assert.equal(tok.decodeBytes([tok.eotId]).length, 0);
    assert.equal(tok.decode([...tok.encode("ab"), tok.eotId, ...tok.encode("cd")]), "abcd");
  });

  it("tokenBytes matches decodeBytes", () => {
    for (let id = 0; id < tok.vocabSize; id++) {
      assert.deepStrictEqual(tok.tokenBytes(id), tok.decodeBytes([id]));
    }
  });

  it("decode never throws on a cut-off UTF-8 sequence", () => {
    const ids = tok.encode("😀");
    assert.equal(tok.decode(ids.slice(0, 1)), "\uFFFD");
  });

  it("stream decoder yields an emoji once, never U+FFFD", () => {
    const emoji = "👩‍💻🇯🇵";
    const ids = tok.encode(emoji);
    assert.ok(ids.length > 1);
    const stream = tok.createStreamDecoder();
    const pieces = ids.map((id) => stream.push([id]));
    pieces.push(stream.flush());
    for (const piece of pieces) assert.ok(!piece.includes("\uFFFD"), `got U+FFFD in ${JSON.stringify(pieces)}`);
    assert.equal(pieces.join(""), emoji);
    assert.equal(pieces.filter((p) => p.includes("👩")).length, 1);
  });
});

/** BPE as its definition states it: repeatedly merge the lowest-rank pair present, left to right. */
function referenceEncodeChunk(json: TokenizerJSON, chunk: string): number[] {
  const rank = new Map(json.merges.map(([a, b], r) => [`${a},${b}`, r]));
  let ids = Array.from(new TextEncoder().encode(chunk));
  for (;;) {
    let best = Infinity;
    for (let i = 0; i + 1 < ids.length; i++) best = Math.min(best, rank.get(`${ids[i]},${ids[i + 1]}`) ?? Infinity);
    if (best === Infinity) return ids;
    const [a, b] = json.merges[best]!;
    const out: number[] = [];
    for (let i = 0; i < ids.length; i++) {
      if (i + 1 < ids.length && ids[i] === a && ids[i + 1] === b) {
        out.push(256 + best);
        i++;
      } else out.push(ids[i]!);
    }
    ids = out;
  }
}

describe("tokenizer on hostile input", () => {
  const shipped = Tokenizer.fromJSON(
    JSON.parse(readFileSync("artifacts/models/pg-student/tokenizer.json", "utf8")) as TokenizerJSON,
  );

  it("encodes each chunk exactly as the lowest-rank-first definition does", () => {
    const rand = seededRandom(7);
    const words = PARAGRAPH.split(/\s+/);
    const samples = [
      ...HARD_STRINGS,
      ...words,
      "thethethe",
      "aaaaaaa",
      "e e e ee",
      ...Array.from({ length: 300 }, () => randomString(rand)),
    ];
    for (const json of [shipped.toJSON(), tok.toJSON()]) {
      const t = Tokenizer.fromJSON(json);
      for (const s of samples) {
        const expected: number[] = [];
        forEachChunk(s, compilePattern(json.pattern), (chunk) => expected.push(...referenceEncodeChunk(json, chunk)));
        assert.deepEqual(t.encode(s), expected, JSON.stringify(s));
      }
    }
  });

  it("a megabyte-long word encodes and round-trips; distinct long words are not cached", () => {
    const rand = seededRandom(11);
    const letters = "etaoinshrdlucmfwypvbgkjqxz";
    const word = Array.from({ length: 1_000_000 }, () => letters[Math.floor(rand() * letters.length)]).join("");
    assert.equal(shipped.decode(shipped.encode(word)), word);
    const cache = (shipped as unknown as { cache: Map<string, unknown> }).cache;
    const before = cache.size;
    for (let i = 0; i < 50; i++) shipped.encode(`${word.slice(i * 100, i * 100 + 5_000)}`);
    assert.equal(cache.size, before);
  });
});
