import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import onnxProto from "onnx-proto";
import { compileModel, modelId } from "../../src/circuit/compile.js";
import { emitCircuit } from "../../src/circuit/emit-circuit.js";
import { integerModelFromOnnx, runIntegerModel, type IntegerModel } from "../../src/model/integer-model.js";
import { integerModelToOnnx } from "../../src/onnx/integer-onnx-export.js";
import { loadCompiledModel } from "../../src/prover/compiled-model.js";
import { prove } from "../../src/prover/prove.js";
import { verifyProof } from "../../src/prover/verify.js";
import { releaseSnarkWorkers } from "../../src/snark/snark-workers.js";

// snarkjs's curve keeps worker threads: the file would never exit
after(releaseSnarkWorkers);

describe("the shipped models' circuits", () => {
  for (const id of ["pg-spam", "pg-student"]) {
    test(`${id}: emitted byte for byte as committed in artifacts/models/${id}/circuit.circom`, async () => {
      const dir = join("artifacts", "models", id);
      const onnx = await readFile(join(dir, "model.onnx"));
      const manifest = JSON.parse(await readFile(join(dir, "circuit.json"), "utf8")) as {
        model_id: string;
        model_id_field: string;
        output: "argmax" | "logits";
      };
      const model = integerModelFromOnnx(onnx);
      assert.ok(model, `${id}/model.onnx is an integer-exact graph`);
      const task = onnxProto.onnx.ModelProto.decode(onnx).metadataProps.find((p) => p.key === "proofgate.task")?.value;
      assert.equal(manifest.output, task === "text-generation" || task === "text-classification" ? "argmax" : "logits");
      assert.equal(modelId(model, manifest.output), manifest.model_id, "the committed circuit is of this model");
      const emitted = emitCircuit(model, { modelIdField: BigInt(manifest.model_id_field), output: manifest.output });
      assert.ok(
        emitted.constraintSource === (await readFile(join(dir, "circuit.circom"), "utf8")),
        "the emitted constraint program differs from the committed one",
      );
    });
  }
});

/** Compiles, proves one sample and checks the proof and its output against the integer reference. */
async function proveTiny(model: IntegerModel, task: string, sample: number[]): Promise<unknown> {
  const dir = await mkdtemp(join(tmpdir(), "pg-emit-"));
  await compileModel({ onnx: integerModelToOnnx(model, "tiny", { "proofgate.task": task }), outDir: dir });
  const compiled = await loadCompiledModel(dir);
  const proof = await prove(compiled, { sample, nonce: 11n });
  assert.equal((await verifyProof(compiled.manifest, compiled.vkey, proof)).valid, true);
  return proof.output;
}

describe("each layer reads the one before it", () => {
  test("dense → dense: the second layer sums the first one's outputs, not the input", async () => {
    const model: IntegerModel = {
      input: { kind: "int", size: 2, min: -127, max: 127, scale: 1 },
      classes: 2,
      layers: [
        { kind: "dense", inputs: 2, outputs: 2, weight: Int32Array.from([1, 2, 3, 4]), bias: Int32Array.from([1, -1]) },
        { kind: "dense", inputs: 2, outputs: 2, weight: Int32Array.from([2, -1, 1, 3]), bias: Int32Array.from([0, 5]) },
      ],
    };
    const sample = [7, -3];
    assert.deepEqual(await proveTiny(model, "tensor", sample), Array.from(runIntegerModel(model, sample)));
  });

  test("a requantize last: the arg-max is over its outputs, not the dense layer's", async () => {
    // dense outputs [40, 24] requantize (÷8, clipped to 3) to [3, 3]: the arg-max of the tie is 0
    const model: IntegerModel = {
      input: { kind: "bits", size: 2 },
      classes: 2,
      layers: [
        { kind: "dense", inputs: 2, outputs: 2, weight: Int32Array.from([20, 8, 20, 16]), bias: new Int32Array(2) },
        { kind: "requantize", width: 2, shift: 3, max: 3 },
      ],
    };
    assert.deepEqual(Array.from(runIntegerModel(model, [1, 1])), [3, 3]);
    assert.equal(await proveTiny(model, "text-classification", [1, 1]), 0);
  });
});
