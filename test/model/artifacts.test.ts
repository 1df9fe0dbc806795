import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { MODEL_IDS } from "../../src/training/build-models.js";
import { readArtifact } from "../../src/core/read-artifact.js";
import { ModelCard } from "../../src/model/model-card.js";
import { sha256 } from "../../src/training/model-card.js";
import { integerModelFromOnnx, maxIntermediate } from "../../src/model/integer-model.js";

const ROOT = "artifacts/models";
const card = (id: string) => readArtifact(join(ROOT, id, "card.json"), ModelCard);
type Metrics = Record<string, Record<string, number>>;

test("every shipped file matches the hash its model card records", async () => {
  for (const id of Object.values(MODEL_IDS)) {
    const c = await card(id);
    assert.equal(c.id, id);
    for (const [file, hash] of Object.entries(c.files))
      assert.equal(sha256(await readFile(join(ROOT, id, file))), hash, `${id}/${file}`);
  }
});

test("the language models share one tokenizer", async () => {
  const a = await readFile(join(ROOT, MODEL_IDS.teacher, "tokenizer.json"), "utf8");
  assert.equal(await readFile(join(ROOT, MODEL_IDS.student, "tokenizer.json"), "utf8"), a);
});

test("the quantized student keeps at least 90% of the float student's agreement with the teacher", async () => {
  const m = (await card(MODEL_IDS.student)).metrics as Metrics;
  const float = m["float student"].top1_agreement_with_teacher;
  const quant = m["quantized student"].top1_agreement_with_teacher;
  assert.ok(float > 0.2, `float student agrees with the teacher on ${float}`);
  assert.ok(quant >= 0.9 * float, `quantized ${quant} vs float ${float}`);
  assert.ok(m.teacher.perplexity < m["float student"].perplexity, "the teacher is the stronger model");
});

test("the quantized spam classifier reaches 95% held-out accuracy", async () => {
  const m = (await card(MODEL_IDS.spam)).metrics as Metrics;
  assert.ok(m.quantized.accuracy >= 0.95, `accuracy ${m.quantized.accuracy}`);
  assert.ok(m.quantized.examples >= 1000);
});

test("provable models are integer-exact graphs with every intermediate below 2^24", async () => {
  for (const id of [MODEL_IDS.student, MODEL_IDS.spam]) {
    const model = integerModelFromOnnx(await readFile(join(ROOT, id, "model.onnx")));
    assert.ok(model, `${id} is an integer model`);
    assert.ok(maxIntermediate(model) < 2 ** 24);
    assert.equal((await card(id)).provable, true);
  }
  assert.equal(integerModelFromOnnx(await readFile(join(ROOT, MODEL_IDS.teacher, "model.onnx"))), null);
});
