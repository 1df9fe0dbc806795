import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as snarkjs from "snarkjs";
import { compileModel } from "../../src/circuit/compile.js";
import { firstViolatedConstraint, type ConstraintSystem } from "../../src/circuit/r1cs.js";
import { FIELD_PRIME } from "../../src/snark/field.js";
import type { IntegerModel } from "../../src/model/integer-model.js";
import { integerModelToOnnx } from "../../src/onnx/integer-onnx-export.js";
import { releaseSnarkWorkers } from "../../src/snark/snark-workers.js";
import { loadCompiledModel, type CompiledModel } from "../../src/prover/compiled-model.js";
import { prove, type ProofFile } from "../../src/prover/prove.js";
import { verifyProof } from "../../src/prover/verify.js";
import { buildCircuitInput, decodePublicSignals, toField } from "../../src/witness/circuit-input.js";
import { cheatingWitness, honestConstraints, proofFromWitness } from "./cheating-prover.js";

// snarkjs keeps its curve's worker threads alive; without this the file never exits
after(releaseSnarkWorkers);

/**
 * Every value packed into a public signal is range-checked to its slot: a value outside it would
 * make the signal say something else (a token spilling into the nonce, a feature of 2 reading as
 * the next feature, an input outside the quantized domain). Each attack is a forged witness for a
 * tiny compiled model, which must violate the honest constraints and whose proof must not verify.
 */
const cli = (...args: string[]) =>
  spawnSync(process.execPath, ["--import", "tsx", "src/main.ts", ...args], { encoding: "utf8" });

async function compileTiny(model: IntegerModel, task: string): Promise<CompiledModel> {
  const dir = await mkdtemp(join(tmpdir(), "pg-packing-"));
  await compileModel({ onnx: integerModelToOnnx(model, "tiny", { "proofgate.task": task }), outDir: dir });
  return loadCompiledModel(dir);
}

/** A dense layer's outputs for any input, valid or not: the hint a cheat feeds for it. */
function denseHint(model: IntegerModel, x: readonly number[]): bigint[] {
  const layer = model.layers[0];
  assert.equal(layer.kind, "dense");
  return Array.from({ length: layer.outputs }, (_, j) =>
    toField(x.reduce((sum, v, i) => sum + v * layer.weight[i * layer.outputs + j], layer.bias[j])),
  );
}

/** a⁻¹ mod p (Fermat: a^(p−2)). */
function modInverse(a: bigint): bigint {
  let result = 1n;
  let base = a % FIELD_PRIME;
  for (let e = FIELD_PRIME - 2n; e > 0n; e >>= 1n) {
    if (e & 1n) result = (result * base) % FIELD_PRIME;
    base = (base * base) % FIELD_PRIME;
  }
  return result;
}

async function assertRejected(
  compiled: CompiledModel,
  system: ConstraintSystem,
  values: bigint[],
  file: ProofFile,
): Promise<void> {
  assert.notEqual(firstViolatedConstraint(system, values), -1, "the forged witness satisfies the constraints");
  const forged = await proofFromWitness(compiled, values, file);
  assert.equal(await snarkjs.groth16.verify(compiled.vkey, forged.public_signals, forged.proof), false);
}

// 16 tokens (4-bit slots), a 2-token window: the next token is 15 − the last one
const V = 16;
function tokenModel(classes: number): IntegerModel {
  const table = new Int32Array(2 * V * classes);
  for (let t = 0; t < V; t++) table[(V + t) * classes + ((15 - t) % classes)] = 5;
  return {
    input: { kind: "tokens", vocabSize: V, context: 2 },
    classes,
    layers: [
      { kind: "positional_tables", vocabSize: V, context: 2, width: classes, table, bias: new Int32Array(classes) },
    ],
  };
}

describe("a token step's packed state", () => {
  let compiled: CompiledModel;
  let system: ConstraintSystem;
  let honest: ProofFile;
  const sample = [3, 7];
  before(async () => {
    compiled = await compileTiny(tokenModel(V), "text-generation");
    system = await honestConstraints(compiled);
    honest = await prove(compiled, { sample, nonce: 5n });
    assert.equal(honest.output, 8);
    assert.equal((await verifyProof(compiled.manifest, compiled.vkey, honest)).valid, true);
  });

  test("a model with more classes than tokens is refused with one line: its next token would spill into the nonce", async () => {
    // the review's model: class 20 in a 4-bit slot read back as token 4 with the nonce 5 → 6
    await assert.rejects(compileTiny(tokenModel(21), "text-generation"), /21 classes exceed the vocabulary of 16/);
    const dir = await mkdtemp(join(tmpdir(), "pg-packing-cli-"));
    await writeFile(
      join(dir, "spill.onnx"),
      integerModelToOnnx(tokenModel(21), "spill", { "proofgate.task": "text-generation" }),
    );
    const r = cli("compile", join(dir, "spill.onnx"), "--out", join(dir, "out"));
    assert.equal(r.status, 1);
    assert.deepEqual(
      r.stderr
        .trim()
        .split("\n")
        .filter((l) => !l.startsWith("compile:")),
      [
        "proofgate compile: a token model's next token must be a token it reads: 21 classes exceed the vocabulary of 16",
      ],
    );
  });

  test("an arg-max index past the classes (token 8 + 16: reads as 8 with the nonce 5 → 6) is rejected", async () => {
    const argmax = (await readFile("circuits/argmax.circom", "utf8")).replace(
      "index <== weighted;",
      "index <-- weighted + 16;",
    );
    const cheat = await cheatingWitness(compiled, { templates: { "circuits/argmax.circom": argmax } });
    const values = await cheat.values(buildCircuitInput(compiled.manifest, compiled.model, sample, 5n).input);
    const claimed = decodePublicSignals(compiled.manifest, values.slice(1, 3));
    assert.ok(claimed.kind === "token-step");
    assert.equal(claimed.next_token, 8);
    assert.equal(BigInt(claimed.state_out) >> 8n, 6n, "the spilled bit lands in the nonce");
    await assertRejected(compiled, system, values, honest);
  });

  test("an input token past the vocabulary (no selector bit set) is rejected", async () => {
    const oneHot = (await readFile("circuits/one_hot.circom", "utf8"))
      .replace("count === 1;", "")
      .replace("weighted === index;", "");
    const cheat = await cheatingWitness(compiled, { templates: { "circuits/one_hot.circom": oneHot } });
    // token 16 selects no table row: the hint is what the circuit then computes, the first position's row alone
    const input = buildCircuitInput(compiled.manifest, compiled.model, sample, 5n).input;
    const layer = compiled.model.layers[0];
    assert.ok(layer.kind === "positional_tables");
    const lin0 = Array.from({ length: layer.width }, (_, j) => toField(layer.table[3 * layer.width + j]));
    const values = await cheat.values({ ...input, tokens: [3n, 16n], lin0 });
    const claimed = decodePublicSignals(compiled.manifest, values.slice(1, 3));
    assert.ok(claimed.kind === "token-step");
    assert.deepEqual(claimed.context, [3, 0], "16 reads as 0 with a carry into the nonce");
    await assertRejected(compiled, system, values, honest);
  });

  test("a nonce past its bits (it wraps the field and aliases the window [3, 8]) is rejected", async () => {
    const cheat = await cheatingWitness(compiled, {});
    // nonce · 2^8 ≡ 5 · 2^8 + 16 (mod p) adds 1 to the last token of both states: the proof of [3, 7] → 8
    // reads as one of [3, 8] → 9, and the real next token of [3, 8] is 7
    const nonce = (5n + 16n * modInverse(256n)) % FIELD_PRIME;
    const input = buildCircuitInput(compiled.manifest, compiled.model, sample, 5n).input;
    const values = await cheat.values({ ...input, nonce });
    const claimed = decodePublicSignals(compiled.manifest, values.slice(1, 3));
    assert.ok(claimed.kind === "token-step");
    assert.deepEqual([claimed.context, claimed.next_token, claimed.nonce], [[3, 8], 9, "5"]);
    assert.equal((await prove(compiled, { sample: [3, 8], nonce: 5n })).output, 7);
    await assertRejected(compiled, system, values, honest);
  });
});

describe("a classifier's packed features", () => {
  // 3 bit features packed as f0 + 2·f1 + 4·f2; label 1 exactly when f0 is large
  const model: IntegerModel = {
    input: { kind: "bits", size: 3 },
    classes: 2,
    layers: [
      {
        kind: "dense",
        inputs: 3,
        outputs: 2,
        weight: Int32Array.from([0, 1, 0, 0, 0, 0]),
        bias: Int32Array.from([1, 0]),
      },
    ],
  };
  let compiled: CompiledModel;
  let system: ConstraintSystem;
  let honest: ProofFile;
  before(async () => {
    compiled = await compileTiny(model, "text-classification");
    system = await honestConstraints(compiled);
    honest = await prove(compiled, { sample: [0, 1, 0], nonce: 9n });
    assert.equal(honest.output, 0);
  });

  test("a feature of 2 (packed like the next feature set) proving another label is rejected", async () => {
    const noBooleanCheck = (source: string) => source.replace("features[i] * (features[i] - 1) === 0;", "");
    const cheat = await cheatingWitness(compiled, { source: noBooleanCheck });
    const values = await cheat.values({ features: [2n, 0n, 0n], nonce: 9n, lin0: denseHint(model, [2, 0, 0]) });
    const claimed = decodePublicSignals(compiled.manifest, values.slice(1, 2));
    assert.ok(claimed.kind === "classify");
    assert.equal(claimed.label, 1);
    const [honestClaim] = honest.public_signals.map(BigInt);
    assert.equal(values[1], honestClaim + 1n, "the commitment is the one of [0, 1, 0]");
    await assertRejected(compiled, system, values, { ...honest, output: 1 });
  });
});

describe("a tensor model's quantized inputs and packed outputs", () => {
  // the signed 8-bit domain the quantizer produces, [−127, 127]; logits 129·v0 and v1 share 15-bit slots
  // sized for [−16383, 16383] exactly, so one input value too many overflows a slot
  const model: IntegerModel = {
    input: { kind: "int", size: 2, min: -127, max: 127, scale: 1 },
    classes: 2,
    layers: [
      { kind: "dense", inputs: 2, outputs: 2, weight: Int32Array.from([129, 0, 0, 1]), bias: new Int32Array(2) },
    ],
  };
  let compiled: CompiledModel;
  let system: ConstraintSystem;
  let honest: ProofFile;
  before(async () => {
    compiled = await compileTiny(model, "tensor");
    system = await honestConstraints(compiled);
    honest = await prove(compiled, { sample: [127, -127], nonce: 3n });
    assert.deepEqual(honest.output, [16383, -127]);
    assert.equal(
      (await verifyProof(compiled.manifest, compiled.vkey, honest)).valid,
      true,
      "both ends of the domain prove",
    );
  });

  test("an input one past the top of the domain (128: its logit 16512 spills and reads as [−16256, 1]) is rejected", async () => {
    const cheat = await cheatingWitness(compiled, {});
    const values = await cheat.values({ values: [128n, 0n], nonce: 3n, lin0: denseHint(model, [128, 0]) });
    const claimed = decodePublicSignals(compiled.manifest, values.slice(1, 3));
    assert.ok(claimed.kind === "tensor");
    assert.deepEqual(claimed.outputs, [-16256, 1]);
    await assertRejected(compiled, system, values, honest);
  });

  test("an input one below the bottom of the domain (−128) is rejected", async () => {
    const cheat = await cheatingWitness(compiled, {});
    const values = await cheat.values({ values: [toField(-128n), 0n], nonce: 3n, lin0: denseHint(model, [-128, 0]) });
    await assertRejected(compiled, system, values, honest);
  });

  test("a directory compiled by an emitter with the one-value-wider check is compiled again, not reused", async () => {
    const path = join(compiled.dir, compiled.manifest.files.circom);
    const current = await readFile(path, "utf8");
    assert.match(current, /InRange\(8, 254\)/);
    await writeFile(
      path,
      current
        .replace("InRange(8, 254)", "Num2Bits(8)")
        .replace('include "circuits/in_range.circom";', 'include "circomlib/bitify.circom";'),
    );
    const again = await compileModel({
      onnx: await readFile(join(compiled.dir, compiled.manifest.files.onnx)),
      outDir: compiled.dir,
    });
    assert.equal(again.reused, false);
    assert.equal(await readFile(path, "utf8"), current);
    assert.equal(
      (
        await compileModel({
          onnx: await readFile(join(compiled.dir, compiled.manifest.files.onnx)),
          outDir: compiled.dir,
        })
      ).reused,
      true,
    );
  });
});
