import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import * as snarkjs from "snarkjs";
import { releaseSnarkWorkers } from "../../src/snark/snark-workers.js";
import { firstViolatedConstraint, loadConstraintSystem, type ConstraintSystem } from "../../src/circuit/r1cs.js";
import { loadCompiledModel, type CompiledModel } from "../../src/prover/compiled-model.js";
import { prove, type ProofFile } from "../../src/prover/prove.js";
import { verifyProof } from "../../src/prover/verify.js";
import { NonceLedgerMemory } from "../../src/prover/nonce-ledger-memory.js";
import { buildCircuitInput, decodePublicSignals } from "../../src/witness/circuit-input.js";
import { cheatingWitness, proofFromWitness } from "../circuit/cheating-prover.js";

// snarkjs keeps its curve's worker threads alive; without this the file never exits
after(releaseSnarkWorkers);

describe("soundness of the spam classifier's circuit", () => {
  let spam: CompiledModel;
  let student: CompiledModel;
  let system: ConstraintSystem;
  let honest: ProofFile;
  const sample = new Array(1024).fill(0).map((_, i) => (i % 7 === 0 ? 1 : 0));
  before(async () => {
    spam = await loadCompiledModel("artifacts/models/pg-spam");
    student = await loadCompiledModel("artifacts/models/pg-student");
    system = await loadConstraintSystem(join(spam.dir, spam.manifest.files.r1cs));
    honest = await prove(spam, { sample, nonce: 42n });
    assert.equal((await verifyProof(spam.manifest, spam.vkey, honest)).valid, true);
  });

  test("an altered rescale remainder (quotient + 1, remainder − 2^shift) fails the constraints and the proof", async () => {
    const requantize = (await readFile("circuits/requantize.circom", "utf8"))
      .replace("q <-- (in + offset) \\ (1 << shift);", "q <-- (in + offset) \\ (1 << shift) + 1;")
      .replace("r <-- (in + offset) % (1 << shift);", "r <-- (in + offset) - q * (1 << shift);");
    const cheat = await cheatingWitness(spam, { templates: { "circuits/requantize.circom": requantize } });
    const values = await cheat.values(buildCircuitInput(spam.manifest, spam.model, sample, 42n).input);
    assert.notEqual(firstViolatedConstraint(system, values), -1);
    const forged = await proofFromWitness(spam, values, honest);
    assert.equal(await snarkjs.groth16.verify(spam.vkey, forged.public_signals, forged.proof), false);
  });

  test("a flipped label with everything downstream recomputed fails the constraints and the proof", async () => {
    const argmax = (await readFile("circuits/argmax.circom", "utf8")).replace(
      "if (in[i] > in[best])",
      "if (in[i] < in[best])",
    );
    const cheat = await cheatingWitness(spam, { templates: { "circuits/argmax.circom": argmax } });
    const values = await cheat.values(buildCircuitInput(spam.manifest, spam.model, sample, 42n).input);
    const claimed = decodePublicSignals(spam.manifest, values.slice(1, 2));
    assert.equal(
      claimed.kind === "classify" && claimed.label,
      1 - (honest.output as number),
      "the cheat claims the other label",
    );
    assert.notEqual(firstViolatedConstraint(system, values), -1);
    const forged = await proofFromWitness(spam, values, { ...honest, output: 1 - (honest.output as number) });
    assert.equal(await snarkjs.groth16.verify(spam.vkey, forged.public_signals, forged.proof), false);
    assert.equal((await verifyProof(spam.manifest, spam.vkey, forged)).valid, false);
  });

  test("tampered public signals do not verify", async () => {
    const claim = BigInt(honest.public_signals[0]);
    for (const tampered of [claim ^ 1n, claim + (1n << 16n), 0n]) {
      assert.equal(
        await snarkjs.groth16.verify(spam.vkey, [tampered.toString()], honest.proof),
        false,
        `claim ${tampered}`,
      );
    }
    const relabeled: ProofFile = { ...honest, output: 1 - (honest.output as number) };
    assert.equal((await verifyProof(spam.manifest, spam.vkey, relabeled)).valid, false);
    const otherNonce: ProofFile = { ...honest, nonce: "43" };
    assert.equal((await verifyProof(spam.manifest, spam.vkey, otherNonce)).valid, false);
  });

  test("a proof of one model does not verify under another model's key", async () => {
    const studentProof = await prove(student, { sample: new Array(16).fill(5), nonce: 9n });
    assert.equal((await verifyProof(student.manifest, student.vkey, studentProof)).valid, true);
    // same public-signal count is needed for the pairing check to even run: pad or cut to fit
    const asSpam = {
      ...studentProof,
      model_id: spam.manifest.model_id,
      vkey_hash: spam.manifest.vkey_hash,
      public_signals: studentProof.public_signals.slice(0, 1),
    };
    assert.equal(await snarkjs.groth16.verify(spam.vkey, asSpam.public_signals, asSpam.proof), false);
    assert.equal(
      (await verifyProof(spam.manifest, spam.vkey, studentProof)).valid,
      false,
      "model id mismatch is refused",
    );
    assert.equal(
      (await verifyProof(student.manifest, spam.vkey, studentProof)).valid,
      false,
      "a key that is not the model's is refused",
    );
  });

  test("a reused nonce fails where freshness is required", async () => {
    const ledger = new NonceLedgerMemory();
    assert.equal((await verifyProof(spam.manifest, spam.vkey, honest, { ledger })).valid, true);
    const again = await verifyProof(spam.manifest, spam.vkey, honest, { ledger });
    assert.equal(again.valid, false);
    assert.match(again.reason, /nonce/);
    const fresh = await prove(spam, { sample, nonce: 43n });
    assert.equal((await verifyProof(spam.manifest, spam.vkey, fresh, { ledger })).valid, true);
  });
});
