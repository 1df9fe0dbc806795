import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { integerModelFromOnnx, maxIntermediate } from "../../src/model/integer-model.js";
import {
  cardQuantization,
  cardTraining,
  DEFAULT_SEED,
  MODEL_IDS,
  PRESETS,
  QUANTIZATION,
  RECIPES,
} from "../../src/training/build-models.js";
import { readArtifact } from "../../src/core/read-artifact.js";
import { ModelCard } from "../../src/model/model-card.js";
import { optimizerCard, quantizationCard } from "../../src/training/model-card.js";

const shipped = async (id: string) => {
  const dir = join("artifacts", "models", id);
  return { card: await readArtifact(join(dir, "card.json"), ModelCard), onnx: await readFile(join(dir, "model.onnx")) };
};

test("each shipped card's training section is what its recipe, the full preset and the default seed state", async () => {
  for (const model of ["teacher", "student", "spam"] as const) {
    const { card } = await shipped(MODEL_IDS[model]);
    assert.deepEqual(card.training, cardTraining(model, PRESETS.full, DEFAULT_SEED), MODEL_IDS[model]);
  }
});

test("each shipped quantized card states the quantization settings, and the shifts and bound of its model.onnx", async () => {
  for (const model of ["student", "spam"] as const) {
    const { card, onnx } = await shipped(MODEL_IDS[model]);
    const integer = integerModelFromOnnx(onnx);
    assert.ok(integer && card.quantization);
    const shifts = integer.layers.flatMap((l) => (l.kind === "requantize" ? [l.shift] : []));
    const result = {
      model: integer,
      shifts,
      outputScales: card.quantization.output_scales as number[],
      maxIntermediate: maxIntermediate(integer),
    };
    assert.deepEqual(card.quantization, cardQuantization(model, result), MODEL_IDS[model]);
  }
});

test("the card's optimizer lines follow the settings, not a text beside them", () => {
  assert.deepEqual(optimizerCard(RECIPES.teacher.optimizer), {
    optimizer: "AdamW (β 0.9/0.999, decay 0.01)",
    learning_rate: "1e-3 peak, 5% warm-up, cosine",
  });
  assert.deepEqual(
    optimizerCard({
      ...RECIPES.teacher.optimizer,
      learningRate: 5e-4,
      warmupFraction: 0.07,
      beta2: 0.98,
      weightDecay: 0,
    }),
    {
      optimizer: "AdamW (β 0.9/0.98)",
      learning_rate: "5e-4 peak, 7% warm-up, cosine",
    },
  );
  assert.match(
    String(cardTraining("student", PRESETS.smoke, 5).loss),
    new RegExp(
      `${1 - RECIPES.student.hardWeight} × teacher distribution \\+ ${RECIPES.student.hardWeight} × data label`,
    ),
  );
});

test("table bits are stated only for a model with positional tables", () => {
  const dense = {
    input: { kind: "bits", size: 1 },
    classes: 1,
    layers: [{ kind: "dense", inputs: 1, outputs: 1, weight: Int32Array.of(1), bias: Int32Array.of(0) }],
  } as const;
  const result = { model: dense, shifts: [], outputScales: [1], maxIntermediate: 1 };
  assert.equal("table_bits" in quantizationCard(QUANTIZATION, result), false);
  const tables = {
    ...dense,
    input: { kind: "tokens", vocabSize: 1, context: 1 },
    layers: [
      {
        kind: "positional_tables",
        vocabSize: 1,
        context: 1,
        width: 1,
        table: Int32Array.of(1),
        bias: Int32Array.of(0),
      },
    ],
  } as const;
  assert.equal(quantizationCard({ ...QUANTIZATION, tableBits: 10 }, { ...result, model: tables }).table_bits, 10);
});
