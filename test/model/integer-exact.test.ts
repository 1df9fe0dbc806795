import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { Random } from "../../src/core/random.js";
import {
  argmaxFirst,
  integerModelFromOnnx,
  runIntegerModel,
  type IntegerModel,
} from "../../src/model/integer-model.js";
import { spamFeatures } from "../../src/model/spam-features.js";
import { loadSpamCorpus } from "../../src/training/corpora.js";
import { runIntegerOnnx } from "../fixtures/run-integer-onnx.js";
import { STUDENT_DIR, studentContexts } from "../fixtures/student-contexts.js";

/** onnxruntime on the shipped integer-exact graph must equal the TypeScript reference, value for value. */
async function assertExact(path: string, samples: number[][], kind: "tokens" | "features"): Promise<IntegerModel> {
  const bytes = await readFile(path);
  const model = integerModelFromOnnx(bytes);
  assert.ok(model, `${path} is integer-exact`);
  const { logits, argmax } = await runIntegerOnnx(bytes, samples, kind);
  let mismatches = 0;
  samples.forEach((s, i) => {
    const expected = runIntegerModel(model, s);
    const got = logits.subarray(i * model.classes, (i + 1) * model.classes);
    if (expected.some((v, j) => v !== got[j]) || argmax[i] !== argmaxFirst(expected)) mismatches++;
  });
  assert.equal(mismatches, 0, `${mismatches} of ${samples.length} inputs differ`);
  return model;
}

test("pg-student: onnxruntime equals the integer reference on 1,000 held-out and 1,000 random contexts", async () => {
  const { samples, vocabSize } = await studentContexts(1000, 1000, 99);
  const model = await assertExact(`${STUDENT_DIR}/model.onnx`, samples, "tokens");
  assert.equal(model.classes, vocabSize);
});

test("pg-spam: onnxruntime equals the integer reference on every held-out message and 500 random inputs", async () => {
  const held = loadSpamCorpus().heldOut.map((m) => Array.from(spamFeatures(m.text)));
  const rng = new Random(98);
  const random = Array.from({ length: 500 }, (_, i) =>
    Array.from({ length: 1024 }, () => (rng.next() < (i % 10) / 10 ? 1 : 0)),
  );
  const all = [new Array(1024).fill(0), new Array(1024).fill(1)];
  assert.ok(held.length >= 1000);
  await assertExact("artifacts/models/pg-spam/model.onnx", [...held, ...random, ...all], "features");
});
