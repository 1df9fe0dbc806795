import { test } from "node:test";
import assert from "node:assert/strict";
import onnxProto from "onnx-proto";
import ort from "onnxruntime-node";
import { Random } from "../../src/core/random.js";
import { OnnxGraph } from "../../src/onnx/onnx-graph.js";
import { quantizeInput, quantizeModel, runFloatModel } from "../../src/model/quantize.js";
import { traceIntegerModel } from "../../src/model/integer-model.js";
import { importOnnx, type ImportedModel } from "../../src/onnx/onnx-import.js";
import { buildMnistShapedMlp, mnistShapedCalibration } from "../fixtures/mnist-mlp.js";

const SAMPLES = 64;
const TOLERANCE = 1e-4;

/** onnxruntime's first output for a batch of samples. */
async function runOrt(
  bytes: Uint8Array,
  inputName: string,
  samples: number[][],
  sampleDims: number[],
  type: "float32" | "int64",
): Promise<number[][]> {
  const session = await ort.InferenceSession.create(bytes, { executionProviders: ["cpu"] });
  const dims = [samples.length, ...sampleDims];
  const tensor =
    type === "float32"
      ? new ort.Tensor("float32", Float32Array.from(samples.flat()), dims)
      : new ort.Tensor("int64", BigInt64Array.from(samples.flat().map((v) => BigInt(v))), dims);
  const out = await session.run({ [inputName]: tensor });
  await session.release();
  const result = out[session.outputNames[0]];
  const data = Array.from(result.data as Float32Array | BigInt64Array, Number);
  const width = data.length / samples.length;
  return samples.map((_, i) => data.slice(i * width, (i + 1) * width));
}

function logits(imported: ImportedModel, sample: number[]): number[] {
  const outputs = runFloatModel(imported.model, sample);
  return Array.from(outputs[outputs.length - 1]);
}

function assertClose(actual: number[], expected: number[], what: string): void {
  assert.equal(actual.length, expected.length, `${what}: width`);
  actual.forEach((v, j) => {
    assert.ok(Math.abs(v - expected[j]) <= TOLERANCE, `${what}[${j}]: ${v} vs onnxruntime ${expected[j]}`);
  });
}

const argmaxOf = (values: number[]): number => values.reduce((best, v, i) => (v > values[best] ? i : best), 0);
const softmax = (values: number[]): number[] => {
  const top = Math.max(...values);
  const e = values.map((v) => Math.exp(v - top));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / sum);
};

/** Rewrites the named initializers to hold their values in floatData/int64Data instead of rawData. */
function toTypedFields(bytes: Uint8Array, names: string[]): Uint8Array {
  const model = onnxProto.onnx.ModelProto.decode(bytes);
  for (const t of model.graph?.initializer ?? []) {
    if (!names.includes(t.name ?? "") || !t.rawData) continue;
    const raw = new DataView(t.rawData.buffer, t.rawData.byteOffset, t.rawData.byteLength);
    if (t.dataType === onnxProto.onnx.TensorProto.DataType.FLOAT) {
      t.floatData = Array.from({ length: raw.byteLength / 4 }, (_, i) => raw.getFloat32(4 * i, true));
    } else {
      t.int64Data = Array.from({ length: raw.byteLength / 8 }, (_, i) => Number(raw.getBigInt64(8 * i, true)));
    }
    // an empty raw_data field still counts as present for onnxruntime, so drop it altogether
    t.rawData = null;
  }
  return onnxProto.onnx.ModelProto.encode(model).finish();
}

function randomFloats(rng: Random, count: number, size: number): number[][] {
  return Array.from({ length: count }, () => Array.from(rng.normalArray(size, 1)));
}

test("MNIST-shaped PyTorch MLP (Flatten, Gemm transB=1, Relu, Gemm) matches onnxruntime", async () => {
  const bytes = buildMnistShapedMlp(7);
  const imported = importOnnx(bytes);
  assert.deepEqual(imported.model.input, { kind: "float", size: 784 });
  assert.deepEqual(
    imported.model.layers.map((l) => l.kind),
    ["dense", "relu", "dense"],
  );
  assert.equal(imported.model.classes, 10);
  assert.equal(imported.inputName, "input");
  assert.equal(imported.outputName, "output");
  assert.equal(imported.argmax, false);
  const samples = [
    ...mnistShapedCalibration(SAMPLES / 2, 1),
    ...Array.from({ length: SAMPLES / 2 }, (_, i) => Array.from(new Random(100 + i).normalArray(784, 0.5))),
  ];
  const expected = await runOrt(bytes, "input", samples, [1, 28, 28], "float32");
  samples.forEach((s, i) => {
    assertClose(logits(imported, s), expected[i], `sample ${i}`);
  });
  // the calibration inputs look like pixels
  const pixels = mnistShapedCalibration(20, 2).flat();
  assert.ok(pixels.every((v) => v >= 0 && v <= 1));
  const lit = pixels.filter((v) => v > 0).length / pixels.length;
  assert.ok(lit > 0.03 && lit < 0.4, `fraction of lit pixels ${lit}`);
});

test("PyTorch x.view(x.size(0), -1) (Shape, Gather, Unsqueeze, Concat, Reshape) folds into a flatten", async () => {
  const bytes = buildMnistShapedMlp(7, "view");
  const imported = importOnnx(bytes);
  // the same weights as the Flatten export, so the same model
  assert.deepEqual(imported.model, importOnnx(buildMnistShapedMlp(7)).model);
  assert.ok(
    imported.ops.some((o) => o.startsWith("Reshape") && o.includes("[batch,1,28,28] → [batch,784]")),
    imported.ops.join("\n"),
  );
  const samples = [...mnistShapedCalibration(SAMPLES / 2, 3), ...randomFloats(new Random(8), SAMPLES / 2, 784)];
  const expected = await runOrt(bytes, "input", samples, [1, 28, 28], "float32");
  samples.forEach((s, i) => {
    assertClose(logits(imported, s), expected[i], `sample ${i}`);
  });
});

test("shape sub-graphs with Slice and Cast, and a bias built by Concat of constants, fold", async () => {
  const rng = new Random(13);
  const g = new OnnxGraph("folds2");
  g.input("x", "float32", ["N", 2, 6]);
  // x.reshape(x.shape[0:1] + (-1,)) through Slice, Squeeze, Unsqueeze and Cast
  const batch = g.op("Squeeze", [
    g.op("Slice", [g.op("Shape", ["x"]), g.constant([0], "int64"), g.constant([1], "int64")]),
  ]);
  const rows = g.op("Cast", [g.op("Unsqueeze", [batch, g.constant([0], "int64")])], { to: 7 });
  let h = g.op("Reshape", ["x", g.op("Concat", [rows, g.constant([-1], "int64")], { axis: 0 })]);
  h = g.op("MatMul", [h, g.initializer("w1", rng.normalArray(12 * 8, 0.4), [12, 8])]);
  // a bias assembled from two constants, on the left operand
  h = g.op("Add", [g.op("Concat", [g.constant([0.1, -0.2, 0.3]), g.constant([0.5, 1, -1, 2, 0.7])], { axis: 0 }), h]);
  h = g.op("Relu", [h]);
  g.node("MatMul", [h, g.initializer("w2", rng.normalArray(8 * 3, 0.4), [8, 3])], ["y"]);
  g.output("y", "float32", ["N", 3]);
  const bytes = g.toBytes();
  const imported = importOnnx(bytes);
  assert.deepEqual(
    imported.model.layers.map((l) => l.kind),
    ["dense", "relu", "dense"],
  );
  const samples = randomFloats(new Random(14), SAMPLES, 12);
  const expected = await runOrt(bytes, "x", samples, [2, 6], "float32");
  samples.forEach((s, i) => {
    assertClose(logits(imported, s), expected[i], `sample ${i}`);
  });
});

test("MatMul + Add with a scalar Mul and a per-channel Div folds into the linear layers", async () => {
  const rng = new Random(11);
  const g = new OnnxGraph("folds");
  g.input("x", "float32", ["N", 20]);
  const w1 = g.initializer("w1", rng.normalArray(20 * 16, 0.3), [20, 16]);
  const b1 = g.initializer("b1", rng.normalArray(16, 0.1), [16]);
  const w2 = g.initializer("w2", rng.normalArray(16 * 8, 0.3), [16, 8]);
  const b2 = g.initializer("b2", rng.normalArray(8, 0.1), [1, 8]);
  const half = g.op("Constant", [], { value_float: { float: 0.5 } });
  const channels = g.constant([2, -0.5, 4, 1.5, -3, 0.25, 8, 1], "float32", [8]);
  const shift = g.constant([0.1, -0.2, 0.3, 0, 0, 1, -1, 2], "float32", [8]);
  const flatShape = g.initializer("flat_shape", BigInt64Array.from([0n, -1n]), [2]);
  let h = g.op("MatMul", ["x", w1]);
  h = g.op("Add", [h, b1]);
  h = g.op("Mul", [h, half]);
  h = g.op("Relu", [h]);
  h = g.op("Reshape", [h, flatShape]);
  h = g.node("Dropout", [h], 2)[0];
  h = g.op("MatMul", [h, w2]);
  h = g.op("Add", [b2, h]); // bias as the left operand
  h = g.op("Div", [h, channels]);
  h = g.op("Sub", [h, shift]);
  g.node("Identity", [h], ["y"]);
  g.output("y", "float32", ["N", 8]);
  // weights in floatData / int64Data rather than rawData, as some exporters write them
  const bytes = toTypedFields(g.toBytes(), ["w2", "flat_shape"]);
  const imported = importOnnx(bytes);
  assert.deepEqual(
    imported.model.layers.map((l) => l.kind),
    ["dense", "relu", "dense"],
  );
  assert.equal(imported.model.classes, 8);
  assert.ok(
    imported.ops.some((o) => o.startsWith("Div") && o.includes("folded")),
    imported.ops.join("\n"),
  );
  const samples = randomFloats(new Random(12), SAMPLES, 20);
  const expected = await runOrt(bytes, "x", samples, [20], "float32");
  samples.forEach((s, i) => {
    assertClose(logits(imported, s), expected[i], `sample ${i}`);
  });
});

test("input normalisation (Sub mean, Div std) and consecutive linear layers fold into one dense layer", async () => {
  const rng = new Random(21);
  const g = new OnnxGraph("normalise");
  g.input("x", "float32", [1, 2, 6]);
  const mean = g.constant([0.5], "float32", [1]);
  const std = g.initializer(
    "std",
    Float32Array.from({ length: 6 }, (_, i) => 0.5 + i / 4),
    [1, 6],
  );
  let h = g.op("Sub", ["x", mean]);
  h = g.op("Div", [h, std]);
  h = g.op("Flatten", [h], { axis: 1 });
  h = g.op("Gemm", [h, g.initializer("w1", rng.normalArray(12 * 9, 0.4), [12, 9]), g.constant([0.3])], {
    alpha: { float: 2 },
    beta: { float: 0.5 },
  });
  h = g.op("MatMul", [h, g.initializer("w2", rng.normalArray(9 * 5, 0.4), [9, 5])]);
  g.node("Cast", [h], ["y"], { to: 1 });
  g.output("y", "float32", [1, 5]);
  const bytes = g.toBytes();
  const imported = importOnnx(bytes);
  assert.deepEqual(
    imported.model.layers.map((l) => l.kind),
    ["dense"],
  );
  for (const s of randomFloats(new Random(22), SAMPLES, 12)) {
    const [expected] = await runOrt(bytes, "x", [s], [2, 6], "float32");
    assertClose(logits(imported, s), expected, "sample");
  }
});

test("TensorFlow-style graph (MatMul, Add, Relu, Identity, final Softmax) imports without the Softmax", async () => {
  const rng = new Random(31);
  const g = new OnnxGraph("tf2onnx");
  g.input("dense_input", "float32", ["unk__6", 32]);
  const k1 = g.initializer("sequential/dense/MatMul/ReadVariableOp:0", rng.normalArray(32 * 24, 0.25), [32, 24]);
  const c1 = g.initializer("sequential/dense/BiasAdd/ReadVariableOp:0", rng.normalArray(24, 0.1), [24]);
  const k2 = g.initializer("sequential/dense_1/MatMul/ReadVariableOp:0", rng.normalArray(24 * 6, 0.25), [24, 6]);
  const c2 = g.initializer("sequential/dense_1/BiasAdd/ReadVariableOp:0", rng.normalArray(6, 0.1), [6]);
  g.node("MatMul", ["dense_input", k1], ["sequential/dense/MatMul:0"]);
  g.node("Add", ["sequential/dense/MatMul:0", c1], ["sequential/dense/BiasAdd:0"]);
  g.node("Relu", ["sequential/dense/BiasAdd:0"], ["sequential/dense/Relu:0"]);
  g.node("Identity", ["sequential/dense/Relu:0"], ["sequential/dropout/Identity:0"]);
  g.node("MatMul", ["sequential/dropout/Identity:0", k2], ["sequential/dense_1/MatMul:0"]);
  g.node("Add", ["sequential/dense_1/MatMul:0", c2], ["sequential/dense_1/BiasAdd:0"]);
  g.node("Softmax", ["sequential/dense_1/BiasAdd:0"], ["dense_1"], { axis: -1 });
  g.output("dense_1", "float32", ["unk__6", 6]);
  const bytes = g.toBytes();
  const imported = importOnnx(bytes);
  assert.deepEqual(
    imported.model.layers.map((l) => l.kind),
    ["dense", "relu", "dense"],
  );
  assert.equal(imported.outputName, "dense_1");
  assert.ok(
    imported.ops.some((o) => o.startsWith("Softmax") && o.includes("dropped")),
    imported.ops.join("\n"),
  );
  const samples = randomFloats(new Random(32), SAMPLES, 32);
  const expected = await runOrt(bytes, "dense_input", samples, [32], "float32");
  samples.forEach((s, i) => {
    assertClose(softmax(logits(imported, s)), expected[i], `sample ${i}`);
  });
});

/** An embedding model as PyTorch exports it: Gather → Reshape(-1, C·D) → Gemm → Relu → Gemm (→ ArgMax). */
function buildEmbeddingModel(withArgmax: boolean): Uint8Array {
  const [V, C, D, H] = [20, 8, 6, 32];
  const rng = new Random(41);
  const g = new OnnxGraph("torch_jit");
  g.input("tokens", "int64", ["batch", C]);
  const emb = g.initializer("embed.weight", rng.normalArray(V * D, 1), [V, D]);
  const shape = g.op("Constant", [], { value_ints: { ints: [-1, C * D] } });
  const gemm = { alpha: { float: 1 }, beta: { float: 1 }, transB: 1 };
  let h = g.op("Gather", [emb, "tokens"]);
  h = g.op("Reshape", [h, shape]);
  h = g.op(
    "Gemm",
    [
      h,
      g.initializer("fc1.weight", rng.normalArray(H * C * D, 0.2), [H, C * D]),
      g.initializer("fc1.bias", rng.normalArray(H, 0.1), [H]),
    ],
    gemm,
  );
  h = g.op("Relu", [h]);
  h = g.op(
    "Gemm",
    [
      h,
      g.initializer("head.weight", rng.normalArray(V * H, 0.2), [V, H]),
      g.initializer("head.bias", rng.normalArray(V, 0.1), [V]),
    ],
    gemm,
  );
  if (withArgmax) {
    g.node("ArgMax", [h], ["next_token"], { axis: -1, keepdims: 0, select_last_index: 0 });
    g.output("next_token", "int64", ["batch"]);
  } else {
    g.node("Identity", [h], ["logits"]);
    g.output("logits", "float32", ["batch", V]);
  }
  return g.toBytes();
}

test("embedding model (Gather, Reshape, Gemm, Relu, Gemm, ArgMax) fuses into positional tables", async () => {
  const bytes = buildEmbeddingModel(true);
  const imported = importOnnx(bytes);
  assert.deepEqual(imported.model.input, { kind: "tokens", vocabSize: 20, context: 8 });
  assert.deepEqual(
    imported.model.layers.map((l) => l.kind),
    ["positional_tables", "relu", "dense"],
  );
  assert.equal(imported.argmax, true);
  assert.equal(imported.model.classes, 20);
  assert.equal(imported.outputName, "next_token");
  const rng = new Random(42);
  const samples = Array.from({ length: SAMPLES }, () => Array.from({ length: 8 }, () => rng.int(20)));
  const tokens = await runOrt(bytes, "tokens", samples, [8], "int64");
  const logitsBytes = buildEmbeddingModel(false);
  const expected = await runOrt(logitsBytes, "tokens", samples, [8], "int64");
  const withoutArgmax = importOnnx(logitsBytes);
  samples.forEach((s, i) => {
    const got = logits(imported, s);
    assertClose(got, expected[i], `sample ${i}`);
    assertClose(logits(withoutArgmax, s), expected[i], `sample ${i} (logits graph)`);
    assert.equal(argmaxOf(got), tokens[i][0], `sample ${i} argmax`);
  });
});

test("unsupported graphs throw one clear error naming the op and the node", () => {
  const rng = new Random(51);
  const dense = (g: OnnxGraph, x: string, k: number, m: number): string =>
    g.op("Gemm", [x, g.initializer(g.fresh("w"), rng.normalArray(k * m, 0.1), [k, m]), g.constant(Array(m).fill(0))]);

  const conv = new OnnxGraph("conv");
  conv.input("x", "float32", ["N", 1, 28, 28]);
  const c = conv.op("Conv", ["x", conv.initializer("k", rng.normalArray(4 * 9, 0.1), [4, 1, 3, 3])]);
  conv.node("Flatten", [c], ["y"]);
  conv.output("y", "float32", ["N", 4 * 26 * 26]);
  assert.throws(
    () => importOnnx(conv.toBytes()),
    /^Error: unsupported op Conv \(node "n_Conv_\d+"\); supported: Gemm, MatMul/,
  );

  const clip = new OnnxGraph("clip");
  clip.input("x", "float32", ["N", 10]);
  const shifted = clip.op("Clip", [
    dense(clip, "x", 10, 8),
    clip.constant([1], "float32", []),
    clip.constant([6], "float32", []),
  ]);
  clip.node("Gemm", [shifted, clip.initializer("w_out", rng.normalArray(8 * 3, 0.1), [8, 3])], ["y"]);
  clip.output("y", "float32", ["N", 3]);
  assert.throws(() => importOnnx(clip.toBytes()), /Clip \(node "n_Clip_\d+"\): min 1 is not supported/);

  const branch = new OnnxGraph("branch");
  branch.input("x", "float32", ["N", 10]);
  const r = branch.op("Relu", [dense(branch, "x", 10, 8)]);
  branch.node("Add", [dense(branch, r, 8, 4), dense(branch, r, 8, 4)], ["y"]);
  branch.output("y", "float32", ["N", 4]);
  assert.throws(() => importOnnx(branch.toBytes()), /Relu \(node "n_Relu_\d+"\): its output "relu_\d+" feeds 2 nodes/);

  const concat = new OnnxGraph("concat");
  concat.input("x", "float32", ["N", 10]);
  const joined = concat.op("Concat", [dense(concat, "x", 10, 4), dense(concat, "x", 10, 4)], { axis: 1 });
  concat.node("Gemm", [joined, concat.initializer("w_out", rng.normalArray(8 * 3, 0.1), [8, 3])], ["y"]);
  concat.output("y", "float32", ["N", 3]);
  assert.throws(
    () => importOnnx(concat.toBytes()),
    /^Error: Concat \(node "n_Concat_\d+"\): concatenates data tensors \("gemm_\d+", "gemm_\d+"\)/,
  );

  const batchBias = new OnnxGraph("batch_bias");
  batchBias.input("x", "float32", ["N", 1]);
  const size = batchBias.op("Cast", [batchBias.op("Shape", ["x"])], { to: 1 });
  batchBias.node("Add", [dense(batchBias, "x", 1, 2), size], ["y"]);
  batchBias.output("y", "float32", ["N", 2]);
  assert.throws(
    () => importOnnx(batchBias.toBytes()),
    /Add \(node "n_Add_\d+"\): operand "cast_\d+" depends on the batch size/,
  );

  const operand = new OnnxGraph("operand");
  operand.input("x", "float32", ["N", 10]);
  const w = operand.op("RandomNormal", [], { shape: [10, 4] });
  operand.node("MatMul", ["x", w], ["y"]);
  operand.output("y", "float32", ["N", 4]);
  assert.throws(
    () => importOnnx(operand.toBytes()),
    /MatMul \(node "n_MatMul_\d+"\): operand "randomnormal_\d+" is not a constant/,
  );
});

test("ReLU6 (Clip 0..6) imports as a capped ReLU and quantizes to saturate exactly at the cap", async () => {
  const rng = new Random(61);
  const g = new OnnxGraph("relu6");
  g.input("x", "float32", ["N", 12]);
  const h = g.op("Gemm", [
    "x",
    g.initializer("w1", rng.normalArray(12 * 16, 1.5), [12, 16]),
    g.initializer("b1", rng.normalArray(16, 0.5), [16]),
  ]);
  const r6 = g.op("Clip", [h, g.constant([0], "float32", []), g.constant([6], "float32", [])]);
  g.node("Gemm", [r6, g.initializer("w2", rng.normalArray(16 * 4, 0.3), [16, 4])], ["y"]);
  g.output("y", "float32", ["N", 4]);
  const bytes = g.toBytes();
  const imported = importOnnx(bytes);
  assert.deepEqual(
    imported.model.layers.map((l) => l.kind),
    ["dense", "relu", "dense"],
  );
  assert.equal((imported.model.layers[1] as { cap?: number }).cap, 6);
  const samples = randomFloats(rng, 64, 12);
  const ort = await runOrt(bytes, "x", samples, [12], "float32");
  samples.forEach((s, i) => {
    assertClose(logits(imported, s), ort[i], `sample ${i}`);
  });

  const q = quantizeModel(imported.model, { calibration: samples });
  const requantize = q.model.layers[1];
  assert.equal(requantize.kind, "requantize");
  // one activation unit is the accumulator scale × 2^shift; 255 of them must be exactly 6
  assert.ok(Math.abs(q.outputScales[0] * 2 ** q.shifts[0] * 255 - 6) < 1e-9);
  let saturated = 0;
  for (const s of samples) {
    const floatHidden = runFloatModel(imported.model, s)[1];
    const intHidden = traceIntegerModel(q.model, quantizeInput(q.model.input as never, s))[1];
    floatHidden.forEach((v, j) => {
      if (v === 6) {
        saturated++;
        assert.equal(intHidden[j], 255);
      }
    });
  }
  assert.ok(saturated > 0, "some activations reach the cap");
});
