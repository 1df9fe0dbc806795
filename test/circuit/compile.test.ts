import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import ort from "onnxruntime-node";
import { compileModel, type CompileResult } from "../../src/circuit/compile.js";
import { releaseSnarkWorkers } from "../../src/snark/snark-workers.js";
import { OnnxGraph } from "../../src/onnx/onnx-graph.js";
import { argmaxFirst, runIntegerModel } from "../../src/model/integer-model.js";
import { quantizeInput } from "../../src/model/quantize.js";
import { loadCompiledModel } from "../../src/prover/compiled-model.js";
import { prove } from "../../src/prover/prove.js";
import { verifyProof } from "../../src/prover/verify.js";
import { buildMnistShapedMlp, mnistShapedCalibration } from "../fixtures/mnist-mlp.js";

// snarkjs keeps its curve's worker threads alive; without this the file never exits
after(releaseSnarkWorkers);

const cli = (...args: string[]) =>
  spawnSync(process.execPath, ["--import", "tsx", "src/main.ts", ...args], { encoding: "utf8" });

describe("compiling a PyTorch-style float MLP (784-56-10)", () => {
  let dir: string;
  let result: CompileResult;
  const onnx = buildMnistShapedMlp(3);
  const calibration = mnistShapedCalibration(200, 4);
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "pg-mnist-"));
    result = await compileModel({ onnx, outDir: dir, calibration });
  });

  test("fits the size target with one commitment binding all 784 inputs", () => {
    const m = result.manifest;
    assert.equal(m.kind, "tensor");
    assert.ok(m.constraints <= 12_000, `${m.constraints} constraints`);
    assert.equal(m.public_signals[0].name, "commitment");
    assert.equal(m.input.kind, "int");
    assert.ok(m.quantization && m.quantization.argmax_agreement >= 0.95, JSON.stringify(m.quantization));
  });

  test("the integer-exact graph it writes matches the float model's class on held-out samples", async () => {
    const compiled = await loadCompiledModel(dir);
    const session = await ort.InferenceSession.create(onnx);
    const samples = mnistShapedCalibration(100, 99);
    const out = await session.run({
      input: new ort.Tensor("float32", Float32Array.from(samples.flat()), [samples.length, 1, 28, 28]),
    });
    const floatLogits = out.output.data as Float32Array;
    let agree = 0;
    samples.forEach((s, i) => {
      const q = runIntegerModel(compiled.model, quantizeInput(compiled.model.input as never, s));
      if (argmaxFirst(q) === argmaxFirst(floatLogits.subarray(i * 10, i * 10 + 10))) agree++;
    });
    assert.ok(agree >= 95, `${agree}/100 agree`);
  });

  test("proves and verifies, with every logit in the public output", async () => {
    const compiled = await loadCompiledModel(dir);
    const sample = quantizeInput(compiled.model.input as never, mnistShapedCalibration(1, 7)[0]);
    const file = await prove(compiled, { sample });
    assert.deepEqual(file.output, Array.from(runIntegerModel(compiled.model, sample)));
    assert.equal((await verifyProof(compiled.manifest, compiled.vkey, file)).valid, true);
    const tampered = { ...file, output: (file.output as number[]).map((v, i) => (i === 0 ? v + 1 : v)) };
    assert.equal((await verifyProof(compiled.manifest, compiled.vkey, tampered)).valid, false);
  });

  test("a second compile of the same model reuses the directory", async () => {
    const again = await compileModel({ onnx, outDir: dir, calibration });
    assert.equal(again.reused, true);
    assert.equal(again.manifest.model_id, result.manifest.model_id);
  });

  test("the CLI proves from real-valued input and verify answers 0 / 1 with one line", async () => {
    const input = join(dir, "input.json");
    await writeFile(input, JSON.stringify({ input: [mnistShapedCalibration(1, 8)[0]] }));
    const proofPath = join(dir, "proof.json");
    const p = cli("prove", "--model", dir, "--input", input, "--out", proofPath);
    assert.equal(p.status, 0, p.stderr);
    const ok = cli("verify", proofPath, "--model", dir);
    assert.equal(ok.status, 0, ok.stderr);
    const proof = JSON.parse(await readFile(proofPath, "utf8"));
    proof.public_signals[0] = (BigInt(proof.public_signals[0]) + 1n).toString();
    await writeFile(proofPath, JSON.stringify(proof));
    const bad = cli("verify", proofPath, "--model", dir);
    assert.equal(bad.status, 1);
    assert.equal(bad.stderr.trim().split("\n").length, 1);
    assert.match(bad.stderr, /^invalid:/);
  });
});

test("an unsupported op is one clear line naming the op and node", async () => {
  const g = new OnnxGraph("conv");
  g.input("x", "float32", ["n", 1, 4, 4]);
  const w = g.initializer("w", new Float32Array(9), [1, 1, 3, 3]);
  g.node("Conv", ["x", w], ["y"]);
  g.output("y", "float32", ["n", 1, 2, 2]);
  const dir = await mkdtemp(join(tmpdir(), "pg-conv-"));
  await writeFile(join(dir, "conv.onnx"), g.toBytes());
  const r = cli("compile", join(dir, "conv.onnx"), "--out", join(dir, "out"));
  assert.equal(r.status, 1);
  assert.equal(
    r.stderr
      .trim()
      .split("\n")
      .filter((l) => !l.startsWith("compile:")).length,
    1,
  );
  assert.match(r.stderr, /unsupported op Conv \(node/);
});
