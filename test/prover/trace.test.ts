import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { releaseSnarkWorkers } from "../../src/snark/snark-workers.js";
import { argmaxFirst, runIntegerModel } from "../../src/model/integer-model.js";
import { loadCompiledModel, type CompiledModel } from "../../src/prover/compiled-model.js";
import { prove, type ProofFile } from "../../src/prover/prove.js";
import { verifyTrace } from "../../src/prover/verify-trace.js";
import { decodingStepWindows } from "../../src/witness/step-windows.js";

const EOT = 319;
let student: CompiledModel;
let steps: ProofFile[];
let generated: number[];

before(async () => {
  student = await loadCompiledModel("artifacts/models/pg-student");
  // greedy generation with the integer reference, then one proof per step (as proof jobs will)
  const prompt = [84, 104, 101, 32, 119, 104, 97, 108, 101];
  generated = [];
  for (let k = 0; k < 3; k++) {
    const [window] = decodingStepWindows(prompt, [...generated, 0], 16, EOT).slice(-1);
    generated.push(argmaxFirst(runIntegerModel(student.model, window)));
  }
  const windows = decodingStepWindows(prompt, generated, 16, EOT);
  assert.deepEqual(windows[0].slice(0, 7), new Array(7).fill(EOT), "short prompts are left-padded");
  // concurrently, as a worker proving several steps at once does
  steps = await Promise.all(windows.map((sample) => prove(student, { sample, nonce: 1234n })));
});

after(releaseSnarkWorkers); // snarkjs's curve keeps worker threads, and the process, alive

test("a greedy generation's step proofs chain into a valid trace of exactly its tokens", async () => {
  const result = await verifyTrace(student.manifest, student.vkey, steps);
  assert.equal(result.valid, true, result.reason);
  assert.deepEqual(result.tokens, generated);
});

test("reordered, dropped or foreign steps break the trace", async () => {
  assert.equal((await verifyTrace(student.manifest, student.vkey, [steps[1], steps[0], steps[2]])).valid, false);
  assert.equal((await verifyTrace(student.manifest, student.vkey, [steps[0], steps[2]])).valid, false);
  const otherNonce = await prove(student, { sample: steps[1].input, nonce: 99n });
  assert.equal((await verifyTrace(student.manifest, student.vkey, [steps[0], otherNonce, steps[2]])).valid, false);
});
