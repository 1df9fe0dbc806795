import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { Random } from "../../src/core/random.js";
import { firstViolatedConstraint, loadConstraintSystem } from "../../src/circuit/r1cs.js";
import { spamFeatures } from "../../src/model/spam-features.js";
import { loadCompiledModel, type CompiledModel } from "../../src/prover/compiled-model.js";
import { loadSpamCorpus } from "../../src/training/corpora.js";
import { runIntegerOnnx } from "../fixtures/run-integer-onnx.js";
import { STUDENT_DIR, studentContexts } from "../fixtures/student-contexts.js";
import { buildCircuitInput, decodePublicSignals } from "../../src/witness/circuit-input.js";

/**
 * The circuit must compute what onnxruntime computes on the served integer-exact graph: for every
 * input, the public output of the witness equals ORT's arg-max. A sample of the witnesses is also
 * checked against every constraint of the circuit (including the pinned linear layers).
 */
async function ortArgmax(dir: string, samples: number[][], kind: "tokens" | "features"): Promise<number[]> {
  return (await runIntegerOnnx(await readFile(`${dir}/model.onnx`), samples, kind)).argmax;
}

async function circuitOutputs(compiled: CompiledModel, samples: number[][], checkEvery: number): Promise<number[]> {
  const system = await loadConstraintSystem(`${compiled.dir}/${compiled.manifest.files.r1cs}`);
  const nPublic = compiled.manifest.public_signals.length;
  const outputs: number[] = [];
  for (const [i, sample] of samples.entries()) {
    const { input } = buildCircuitInput(compiled.manifest, compiled.model, sample, BigInt(i + 1));
    const w = await compiled.witness.values(input);
    if (i % checkEvery === 0)
      assert.equal(firstViolatedConstraint(system, w), -1, `witness ${i} satisfies every constraint`);
    const decoded = decodePublicSignals(compiled.manifest, w.slice(1, 1 + nPublic));
    outputs.push(
      decoded.kind === "token-step" ? decoded.next_token : decoded.kind === "classify" ? decoded.label : NaN,
    );
  }
  return outputs;
}

test("pg-student circuit = onnxruntime on 600 held-out and 400 random contexts", async () => {
  const compiled = await loadCompiledModel(STUDENT_DIR);
  const { samples } = await studentContexts(600, 400, 5);
  assert.deepEqual(await circuitOutputs(compiled, samples, 100), await ortArgmax(STUDENT_DIR, samples, "tokens"));
});

test("pg-spam circuit = onnxruntime on every held-out message and random inputs", async () => {
  const dir = "artifacts/models/pg-spam";
  const compiled = await loadCompiledModel(dir);
  const held = loadSpamCorpus().heldOut.map((m) => Array.from(spamFeatures(m.text)));
  const rng = new Random(6);
  const random = Array.from({ length: 300 }, (_, i) =>
    Array.from({ length: 1024 }, () => (rng.next() < (i % 10) / 10 ? 1 : 0)),
  );
  const samples = [...held, ...random];
  assert.ok(samples.length >= 1000);
  assert.deepEqual(await circuitOutputs(compiled, samples, 50), await ortArgmax(dir, samples, "features"));
});
