import { test } from "node:test";
import assert from "node:assert/strict";
import { loadManifest, type CircuitManifest } from "../../src/model/circuit-manifest.js";
import { Random } from "../../src/core/random.js";
import { inputLength, inputRange } from "../../src/model/integer-model.js";
import { decodePublicSignals, expectedPublicSignals } from "../../src/witness/circuit-input.js";
import {
  inputLayout,
  overfullWord,
  packWords,
  unpackInput,
  unpackWords,
  type WordLayout,
} from "../../src/witness/packing.js";

const LAYOUTS: readonly WordLayout[] = [
  { bits: 1, offset: 0, perWord: 253 },
  { bits: 9, offset: -128, perWord: 28 },
  { bits: 16, offset: -32768, perWord: 15 },
];

function randomValues(random: Random, layout: WordLayout, count: number): number[] {
  return Array.from({ length: count }, () => layout.offset + random.int(2 ** layout.bits));
}

test("unpackWords inverts packWords, for any count and layout, and reads no bit above the values", () => {
  const random = new Random(7);
  for (const layout of LAYOUTS) {
    for (const count of [1, layout.perWord - 1, layout.perWord, layout.perWord + 1, 3 * layout.perWord + 2]) {
      const values = randomValues(random, layout, count);
      const words = packWords(values, layout);
      assert.equal(words.length, Math.ceil(count / layout.perWord));
      assert.ok(
        words.every((w) => w >= 0n && w < 1n << 253n),
        "a word stays below 2^253",
      );
      assert.deepEqual(unpackWords(words, layout, count), values);
      assert.equal(overfullWord(words, layout, count), -1);
      const spilled = [...words];
      spilled[words.length - 1] += 1n << BigInt(layout.bits * layout.perWord);
      assert.equal(overfullWord(spilled, layout, count), words.length - 1);
    }
  }
});

test("a shipped classifier's input words unpack to the sample, and what cannot be a sample is refused", async () => {
  const spam = await loadManifest("artifacts/models/pg-spam");
  const random = new Random(11);
  const [lo, hi] = inputRange(spam.input);
  const sample = Array.from({ length: inputLength(spam.input) }, () => lo + random.int(hi - lo + 1));
  const words = packWords(sample, inputLayout(spam));
  assert.deepEqual(unpackInput(spam, words), sample);
  assert.throws(() => unpackInput(spam, words.slice(1)), /commits to 5 input words, got 4/);
  const spilled = [...words.slice(0, 4), words[4] | (1n << 252n)];
  assert.throws(() => unpackInput(spam, spilled), /input word 4 has bits above its 12 values/);
});

test("a tensor circuit's output and a decoding step's state decode to what was packed", async () => {
  const student = await loadManifest("artifacts/models/pg-student");
  assert.equal(student.packing.kind, "token-step");
  const window = Array.from({ length: student.packing.context }, (_, i) => (i * 37) % 300);
  const signals = await expectedPublicSignals(student, window, 12345n, 42);
  const decoded = decodePublicSignals(student, signals);
  assert.deepEqual(decoded, {
    kind: "token-step",
    context: window,
    next_token: 42,
    nonce: "12345",
    state_in: String(signals[0]),
    state_out: String(signals[1]),
  });

  const tensor: CircuitManifest = {
    ...student,
    kind: "tensor",
    output: "logits",
    input: { kind: "int", size: 3, min: -4, max: 3, scale: 0.5 },
    classes: 20,
    public_signals: [
      { name: "commitment", meaning: "" },
      { name: "out0", meaning: "" },
      { name: "out1", meaning: "" },
    ],
    packing: {
      kind: "tensor",
      inputBits: 3,
      inputOffset: -4,
      perWord: 84,
      words: 1,
      outputBits: 20,
      outputOffset: -524288,
      outputsPerWord: 12,
      outputWords: 2,
    },
  };
  const outputs = Array.from({ length: 20 }, (_, i) => (i % 2 ? 1 : -1) * (i + 1) * 1000);
  const tensorSignals = await expectedPublicSignals(tensor, [-4, 0, 3], 9n, outputs);
  const read = decodePublicSignals(tensor, tensorSignals);
  assert.equal(read.kind, "tensor");
  assert.deepEqual(read.kind === "tensor" && read.outputs, outputs);
});
