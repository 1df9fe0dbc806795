import { test } from "node:test";
import assert from "node:assert/strict";
import onnxProto from "onnx-proto";
import ort from "onnxruntime-node";
import { Random } from "../../src/core/random.js";
import { OnnxGraph } from "../../src/onnx/onnx-graph.js";
import {
  argmaxFirst,
  integerModelFromOnnx,
  runIntegerModel,
  type IntegerModel,
} from "../../src/model/integer-model.js";
import { integerModelToOnnx } from "../../src/onnx/integer-onnx-export.js";
import { importIntegerOnnx, importIntegerOnnxGraph } from "../../src/onnx/integer-onnx-import.js";
import { buildMnistShapedMlp } from "../fixtures/mnist-mlp.js";

const SAMPLES = 64;
const { onnx } = onnxProto;

const ints = (rng: Random, n: number, bound: number): Int32Array =>
  Int32Array.from({ length: n }, () => rng.int(2 * bound + 1) - bound);

function tokensModel(): IntegerModel {
  const rng = new Random(1);
  const [V, C, W, K] = [12, 5, 16, 8];
  return {
    input: { kind: "tokens", vocabSize: V, context: C },
    classes: K,
    layers: [
      {
        kind: "positional_tables",
        vocabSize: V,
        context: C,
        width: W,
        table: ints(rng, C * V * W, 300),
        bias: ints(rng, W, 50),
      },
      { kind: "requantize", width: W, shift: 3, max: 255 },
      { kind: "dense", inputs: W, outputs: K, weight: ints(rng, W * K, 20), bias: ints(rng, K, 100) },
    ],
  };
}

function denseModel(): IntegerModel {
  const rng = new Random(2);
  return {
    input: { kind: "int", size: 20, min: -128, max: 127, scale: 1 },
    classes: 6,
    layers: [
      { kind: "dense", inputs: 20, outputs: 16, weight: ints(rng, 20 * 16, 30), bias: ints(rng, 16, 500) },
      { kind: "requantize", width: 16, shift: 6, max: 127 },
      { kind: "dense", inputs: 16, outputs: 12, weight: ints(rng, 16 * 12, 10), bias: ints(rng, 12, 50) },
      { kind: "requantize", width: 12, shift: 4, max: 15 },
      { kind: "dense", inputs: 12, outputs: 6, weight: ints(rng, 12 * 6, 10), bias: ints(rng, 6, 5) },
    ],
  };
}

/** The model as another tool would hand it over: proofgate's graph without proofgate's metadata. */
function stripMetadata(bytes: Uint8Array): Uint8Array {
  const model = onnx.ModelProto.decode(bytes);
  model.metadataProps = [];
  return onnx.ModelProto.encode(model).finish();
}

/** Rewrites one value of a constant: the initializer `name`, or the constant operand of the first `op` node. */
function tamper(
  bytes: Uint8Array,
  target: { name: string } | { op: string },
  index: number,
  value: number,
): Uint8Array {
  const model = onnx.ModelProto.decode(bytes);
  const name = "name" in target ? target.name : model.graph!.node!.find((n) => n.opType === target.op)!.input![1];
  const t = model.graph!.initializer!.find((i) => i.name === name)!;
  const raw = new Uint8Array(t.rawData!).buffer; // a copy: a decoded Buffer views a shared pool
  if (t.dataType === onnx.TensorProto.DataType.INT64) new BigInt64Array(raw)[index] = BigInt(value);
  else new Float32Array(raw)[index] = value;
  t.rawData = new Uint8Array(raw);
  return onnx.ModelProto.encode(model).finish();
}

/** onnxruntime's outputs for a batch: logits (first output) and the ArgMax output, when there is one. */
async function runOrt(
  bytes: Uint8Array,
  samples: number[][],
  type: "int64" | "float32",
): Promise<{ logits: number[][]; argmax?: number[] }> {
  const session = await ort.InferenceSession.create(bytes, { executionProviders: ["cpu"] });
  const dims = [samples.length, samples[0].length];
  const tensor =
    type === "int64"
      ? new ort.Tensor("int64", BigInt64Array.from(samples.flat().map(BigInt)), dims)
      : new ort.Tensor("float32", Float32Array.from(samples.flat()), dims);
  const out = await session.run({ [session.inputNames[0]]: tensor });
  await session.release();
  const rows = (name: string): number[][] => {
    const data = Array.from(out[name].data as Float32Array | BigInt64Array, Number);
    const width = data.length / samples.length;
    return samples.map((_, i) => data.slice(i * width, (i + 1) * width));
  };
  const argmaxName = session.outputNames.find((n) => out[n].type === "int64");
  return {
    logits: rows(session.outputNames.find((n) => out[n].type === "float32")!),
    argmax: argmaxName ? rows(argmaxName).map((r) => r[0]) : undefined,
  };
}

async function assertAgrees(
  bytes: Uint8Array,
  model: IntegerModel,
  samples: number[][],
  type: "int64" | "float32",
): Promise<void> {
  const { logits, argmax } = await runOrt(bytes, samples, type);
  samples.forEach((s, i) => {
    const expected = Array.from(runIntegerModel(model, s));
    assert.deepEqual(logits[i], expected, `sample ${i}`);
    if (argmax) assert.equal(argmax[i], argmaxFirst(expected), `sample ${i} argmax`);
  });
}

test("a tokens model written by integerModelToOnnx, metadata stripped, imports to the same model", async () => {
  const model = tokensModel();
  const bytes = stripMetadata(integerModelToOnnx(model, "tokens"));
  assert.equal(integerModelFromOnnx(bytes), null, "no metadata left");
  const imported = importIntegerOnnxGraph(bytes);
  assert.ok(imported);
  assert.deepEqual(imported.model, model);
  assert.equal(imported.argmax, true);
  const rng = new Random(3);
  const samples = Array.from({ length: SAMPLES }, () => Array.from({ length: 5 }, () => rng.int(12)));
  await assertAgrees(bytes, imported.model, samples, "int64");
});

test("a dense model written by integerModelToOnnx, metadata stripped, imports to the same model", async () => {
  const model = denseModel();
  const bytes = stripMetadata(integerModelToOnnx(model, "dense"));
  const imported = importIntegerOnnx(bytes);
  assert.deepEqual(imported, model);
  const rng = new Random(4);
  const samples = Array.from({ length: SAMPLES }, () => Array.from({ length: 20 }, () => rng.int(256) - 128));
  await assertAgrees(bytes, imported!, samples, "float32");
  // the caller says what range a float input's integers span
  assert.deepEqual(importIntegerOnnx(bytes, { inputRange: [0, 255] })?.input, {
    kind: "int",
    size: 20,
    min: 0,
    max: 255,
    scale: 1,
  });
});

test("the same patterns written another way (operand order, [1, m] bias, no bias, no Identity, keepdims ArgMax) import", async () => {
  const rng = new Random(5);
  const g = new OnnxGraph("elsewhere");
  g.input("x", "float32", ["n", 10]);
  const w1 = ints(rng, 10 * 8, 20);
  const b1 = ints(rng, 8, 100);
  const w2 = ints(rng, 8 * 3, 7);
  let h = g.op("MatMul", ["x", g.initializer("w1", Float32Array.from(w1), [10, 8])]);
  h = g.op("Add", [g.initializer("b1", Float32Array.from(b1), [1, 8]), h]);
  h = g.op("Floor", [g.op("Mul", [g.op("Constant", [], { value_float: { float: 0.125 } }), h])]);
  h = g.op("Clip", [h, g.constant([0], "float32", []), g.constant([63], "float32", [])]);
  g.node("MatMul", [h, g.initializer("w2", Float32Array.from(w2), [8, 3])], ["scores"]);
  g.node("ArgMax", ["scores"], ["label"], { axis: -1, keepdims: 1 });
  g.output("scores", "float32", ["n", 3]);
  g.output("label", "int64", ["n", 1]);
  const bytes = g.toBytes();
  const imported = importIntegerOnnxGraph(bytes, { inputRange: [-8, 8] });
  const expected: IntegerModel = {
    input: { kind: "int", size: 10, min: -8, max: 8, scale: 1 },
    classes: 3,
    layers: [
      { kind: "dense", inputs: 10, outputs: 8, weight: w1, bias: b1 },
      { kind: "requantize", width: 8, shift: 3, max: 63 },
      { kind: "dense", inputs: 8, outputs: 3, weight: w2, bias: new Int32Array(3) },
    ],
  };
  assert.deepEqual(imported, { model: expected, argmax: true });
  const samples = Array.from({ length: SAMPLES }, () => Array.from({ length: 10 }, () => rng.int(17) - 8));
  await assertAgrees(bytes, expected, samples, "float32");
});

test("graphs that look integer but break a rule are refused naming the node; float graphs are not integer", () => {
  const dense = stripMetadata(integerModelToOnnx(denseModel(), "dense"));
  const tokens = stripMetadata(integerModelToOnnx(tokensModel(), "tokens"));
  assert.throws(
    () => importIntegerOnnx(tamper(dense, { name: "l0.weight" }, 3, 2.5)),
    /^Error: integer onnx: MatMul \(node "n_MatMul_\d+"\): "l0\.weight"\[3\] = 2\.5 is not an integer below 2\^24$/,
  );
  assert.throws(
    () => importIntegerOnnx(tamper(tokens, { name: "l0.bias" }, 0, 0.75)),
    /^Error: integer onnx: Add \(node "n_Add_\d+"\): "l0\.bias"\[0\] = 0\.75 is not an integer/,
  );
  assert.throws(
    () => importIntegerOnnx(tamper(dense, { op: "Mul" }, 0, 0.3)),
    /^Error: integer onnx: Mul \(node "n_Mul_\d+"\): scale 0\.30000001192092896 is not a power of two ≤ 1\/2/,
  );
  assert.throws(
    () => importIntegerOnnx(tamper(dense, { op: "Mul" }, 0, 1)),
    /Mul \(node "n_Mul_\d+"\): scale 1 is not a power of two ≤ 1\/2/,
  );
  const clipMax = onnx.ModelProto.decode(dense).graph!.node!.find((n) => n.opType === "Clip")!.input![2];
  assert.throws(
    () => importIntegerOnnx(tamper(dense, { name: clipMax }, 0, 100)),
    /^Error: integer onnx: Clip \(node "n_Clip_\d+"\): bounds \[0, 100\] are not \[0, 2\^b − 1\]$/,
  );
  assert.throws(
    () => importIntegerOnnx(tamper(tokens, { op: "Add" }, 1, 13)),
    /^Error: integer onnx: Add \(node "n_Add_\d+"\): offsets must be p·12 for p < 5$/,
  );
  // float exports (no Floor, no ReduceSum; or ops beyond the integer patterns) are left to the float importer
  assert.equal(importIntegerOnnx(buildMnistShapedMlp(1)), null);
  assert.equal(importIntegerOnnx(buildMnistShapedMlp(1, "view")), null);
});
