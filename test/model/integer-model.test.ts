import { test } from "node:test";
import assert from "node:assert/strict";
import ort from "onnxruntime-node";
import {
  argmaxFirst,
  checkIntegerInput,
  integerModelFromOnnx,
  maxIntermediate,
  runIntegerModel,
  type IntegerModel,
} from "../../src/model/integer-model.js";
import { integerModelToOnnx } from "../../src/onnx/integer-onnx-export.js";
import { quantizeModel, runFloatModel, type FloatModel } from "../../src/model/quantize.js";
import { Random } from "../../src/core/random.js";

function tinyTokenModel(): IntegerModel {
  // V = 3, C = 2, width 2: tables chosen so that negative sums exercise floor and the ReLU clamp
  return {
    input: { kind: "tokens", vocabSize: 3, context: 2 },
    classes: 3,
    layers: [
      {
        kind: "positional_tables",
        vocabSize: 3,
        context: 2,
        width: 2,
        table: Int32Array.from([-7, 9, 3, -3, 0, 1, -1, 600, 5, 2, -9, 0]),
        bias: Int32Array.from([1, -2]),
      },
      { kind: "requantize", width: 2, shift: 1, max: 255 },
      {
        kind: "dense",
        inputs: 2,
        outputs: 3,
        weight: Int32Array.from([1, -1, 1, 2, 0, 2]),
        bias: Int32Array.from([0, 3, 0]),
      },
    ],
  };
}

async function onnxLogits(
  bytes: Uint8Array,
  input: number[][],
  kind: "tokens" | "bits",
): Promise<{ logits: Float32Array; argmax: BigInt64Array }> {
  const session = await ort.InferenceSession.create(bytes);
  const n = input[0].length;
  const tensor =
    kind === "tokens"
      ? new ort.Tensor("int64", BigInt64Array.from(input.flat().map(BigInt)), [input.length, n])
      : new ort.Tensor("float32", Float32Array.from(input.flat()), [input.length, n]);
  const out = await session.run({ [kind === "tokens" ? "tokens" : "features"]: tensor });
  await session.release();
  return { logits: out.logits.data as Float32Array, argmax: out.argmax.data as BigInt64Array };
}

test("requantize floors toward −∞ and clamps to [0, max]", () => {
  const model = tinyTokenModel();
  // tokens (0, 2) select rows 0 and 1·3 + 2 = 5: h = [1 − 7 − 9, −2 + 9 + 0] = [−15, 7]
  // → floor(h / 2) = [−8, 3] → clamp = [0, 3] → logits = [3·2, 3·0 + 3, 3·2] = [6, 3, 6]
  assert.deepEqual(Array.from(runIntegerModel(model, [0, 2])), [6, 3, 6]);
  assert.equal(argmaxFirst([6, 3, 6]), 0, "ties go to the first index, as ONNX ArgMax");
});

test("the ONNX export computes what the reference computes, and reads back to the same model", async () => {
  const model = tinyTokenModel();
  const bytes = integerModelToOnnx(model, "tiny");
  const inputs = [0, 1, 2].flatMap((a) => [0, 1, 2].map((b) => [a, b]));
  const { logits, argmax } = await onnxLogits(bytes, inputs, "tokens");
  inputs.forEach((s, i) => {
    const expected = runIntegerModel(model, s);
    assert.deepEqual(Array.from(logits.subarray(i * 3, i * 3 + 3)), Array.from(expected), `input ${s}`);
    assert.equal(Number(argmax[i]), argmaxFirst(expected));
  });
  assert.deepEqual(integerModelFromOnnx(bytes), model);
});

test("an intermediate that float32 cannot hold exactly is refused at export", () => {
  const model = tinyTokenModel();
  // unit 0 of the requantized layer reaches floor((1 + 3 + 5) / 2) = 4, and 4 · 5,000,000 > 2^24
  const big: IntegerModel = {
    ...model,
    layers: [
      model.layers[0],
      model.layers[1],
      {
        kind: "dense",
        inputs: 2,
        outputs: 3,
        weight: Int32Array.from([5_000_000, 0, 0, 0, 0, 0]),
        bias: new Int32Array(3),
      },
    ],
  };
  assert.ok(maxIntermediate(big) >= 2 ** 24);
  assert.throws(() => integerModelToOnnx(big, "big"), RangeError);
});

test("inputs outside the model's domain are named", () => {
  const input = { kind: "tokens", vocabSize: 3, context: 2 } as const;
  assert.match(checkIntegerInput(input, [0]) ?? "", /1 values; model expects 2/);
  assert.match(checkIntegerInput(input, [0, 3]) ?? "", /input\[1\] is 3/);
  assert.match(checkIntegerInput(input, [0.5, 1]) ?? "", /input\[0\]/);
  assert.equal(checkIntegerInput(input, [2, 0]), null);
  assert.throws(() => runIntegerModel(tinyTokenModel(), [0, 7]), RangeError);
});

test("quantization tracks the float model and keeps every intermediate below 2^24", async () => {
  const rng = new Random(7);
  const float: FloatModel = {
    input: { kind: "bits", size: 64 },
    classes: 4,
    layers: [
      { kind: "dense", inputs: 64, outputs: 16, weight: rng.normalArray(64 * 16, 0.3), bias: rng.normalArray(16, 0.1) },
      { kind: "relu" },
      { kind: "dense", inputs: 16, outputs: 4, weight: rng.normalArray(16 * 4, 0.5), bias: rng.normalArray(4, 0.1) },
    ],
  };
  const samples = Array.from({ length: 400 }, () => Array.from({ length: 64 }, () => rng.int(2)));
  const q = quantizeModel(float, { calibration: samples.slice(0, 200) });
  assert.ok(q.maxIntermediate < 2 ** 24);
  let agree = 0;
  for (const s of samples.slice(200))
    if (argmaxFirst(runFloatModel(float, s).at(-1)!) === argmaxFirst(runIntegerModel(q.model, s))) agree++;
  assert.ok(agree >= 190, `quantized top-1 agrees with float on ${agree}/200`);
  const onnx = await onnxLogits(integerModelToOnnx(q.model, "q"), samples, "bits");
  samples.forEach((s, i) => {
    assert.deepEqual(Array.from(onnx.logits.subarray(i * 4, i * 4 + 4)), Array.from(runIntegerModel(q.model, s)));
  });
});
