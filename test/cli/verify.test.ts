/**
 * `proofgate verify` against proof files that misstate what was proven (issue 13, item 7): each file
 * below carries a real, valid Groth16 proof, but claims another input, nonce or output that packs or
 * hashes to the same public signals, or names another key. Each must exit 1 with a reason naming the
 * field; the honest files exit 0 and print the vkey hash they were verified under.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FIELD_PRIME } from "../../src/snark/field.js";
import { releaseSnarkWorkers } from "../../src/snark/snark-workers.js";
import {
  randomSalt,
  requestNonce,
  sampleContentHash,
  textContentHash,
  HASHED_NONCE_BITS,
} from "../../src/core/request-binding.js";
import { loadCompiledModel, type CompiledModel } from "../../src/prover/compiled-model.js";
import { NonceLedgerMemory } from "../../src/prover/nonce-ledger-memory.js";
import { prove, type ProofFile } from "../../src/prover/prove.js";
import { verifyProof } from "../../src/prover/verify.js";

const SPAM = "artifacts/models/pg-spam";
const STUDENT = "artifacts/models/pg-student";

const cli = (...args: string[]) =>
  spawnSync(process.execPath, ["--import", "tsx", "src/main.ts", ...args], { encoding: "utf8" });

describe("proofgate verify checks what a proof file claims", { timeout: 300_000 }, () => {
  let dir: string;
  let spam: CompiledModel;
  let student: CompiledModel;
  let spamProof: ProofFile;
  let studentProof: ProofFile;
  // feature 6 is 0 and feature 7 is 1, so [.., 2, 0, ..] packs as the same word
  const spamSample: number[] = new Array(1024).fill(0).map((_, i) => (i % 7 === 0 ? 1 : 0));
  const studentWindow = Array.from({ length: 16 }, (_, i) => (i * 37 + 11) % 320);

  async function file(name: string, content: unknown): Promise<string> {
    const path = join(dir, `${name}.json`);
    await writeFile(path, JSON.stringify(content));
    return path;
  }

  function verdict(path: string, ...extra: string[]): { status: number | null; line: string } {
    const r = cli("verify", path, ...extra);
    const out = `${r.stdout}${r.stderr}`.trim();
    assert.equal(out.split("\n").length, 1, `one line: ${out}`);
    return { status: r.status, line: out };
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "pg-verify-"));
    [spam, student] = await Promise.all([loadCompiledModel(SPAM), loadCompiledModel(STUDENT)]);
    spamProof = await prove(spam, { sample: spamSample, nonce: 42n });
    studentProof = await prove(student, { sample: studentWindow, nonce: 7n });
  });
  after(releaseSnarkWorkers);

  test("honest files are valid, and the verdict names the vkey hash", async () => {
    for (const [proof, model] of [
      [spamProof, SPAM],
      [studentProof, STUDENT],
    ] as const) {
      const r = verdict(await file(`honest-${proof.kind}`, proof), "--model", model);
      assert.equal(r.status, 0, r.line);
      assert.match(r.line, new RegExp(`^valid under vkey_hash ${proof.vkey_hash} `));
    }
  });

  test("a classifier file claiming a feature of 2 (the packed word of the next feature's 1) is invalid", async () => {
    const input = [...spamSample];
    [input[6], input[7]] = [2, 0];
    const r = verdict(await file("feature-2", { ...spamProof, input }), "--model", SPAM);
    assert.equal(r.status, 1);
    assert.match(r.line, /^invalid: input: input\[6\] is 2; expected an integer in \[0, 1\]/);
  });

  test("a classifier file claiming nonce + p or nonce − p is invalid", async () => {
    for (const nonce of [(42n + FIELD_PRIME).toString(), (42n - FIELD_PRIME).toString()]) {
      const r = verdict(await file("nonce-p", { ...spamProof, nonce }), "--model", SPAM);
      assert.equal(r.status, 1);
      assert.match(r.line, /^invalid: nonce: /);
    }
  });

  test("a token-step file claiming a token ≥ the vocabulary (spilling into the next slot) is invalid", async () => {
    const input = [...studentWindow];
    input[3] += 512;
    input[4] -= 1;
    const r = verdict(await file("token-spill", { ...studentProof, input }), "--model", STUDENT);
    assert.equal(r.status, 1);
    assert.match(r.line, /^invalid: input: input\[3\] is \d+; expected an integer in \[0, 319\]/);
  });

  test("a token-step file with a shifted nonce and output + 511 (state bits moved between nonce and token slots) is invalid", async () => {
    const input = [...studentWindow];
    input[15] += 512;
    const shifted = { ...studentProof, input, nonce: "6", output: (studentProof.output as number) + 511 };
    const r = verdict(await file("shifted", shifted), "--model", STUDENT);
    assert.equal(r.status, 1);
    assert.match(r.line, /^invalid: input: input\[15\]/);
    // with the input left honest, the nonce and the output are each named
    const nonceOnly = verdict(await file("shifted-nonce", { ...studentProof, nonce: "6" }), "--model", STUDENT);
    assert.match(nonceOnly.line, /^invalid: nonce: the signals carry nonce 7, the file says 6/);
    const output = ((studentProof.output as number) + 1) % 320;
    const outputOnly = verdict(await file("other-output", { ...studentProof, output }), "--model", STUDENT);
    assert.match(
      outputOnly.line,
      new RegExp(`^invalid: output: the signals carry next token ${studentProof.output}, the file says ${output}`),
    );
    const beyond = verdict(
      await file("output-beyond", { ...studentProof, output: (studentProof.output as number) + 511 }),
      "--model",
      STUDENT,
    );
    assert.match(beyond.line, /^invalid: output: \d+ is not a class index in \[0, 320\)/);
  });

  test("--model of another model, or a file naming another key, is invalid", async () => {
    const path = await file("honest-spam", spamProof);
    const other = verdict(path, "--model", STUDENT);
    assert.equal(other.status, 1);
    assert.match(other.line, /^invalid: proof is for model /);
    const relabeledKey = verdict(
      await file("other-key", { ...spamProof, vkey_hash: student.manifest.vkey_hash }),
      "--model",
      SPAM,
    );
    assert.equal(relabeledKey.status, 1);
    assert.match(
      relabeledKey.line,
      new RegExp(
        `^invalid: vkey_hash: the file names key ${student.manifest.vkey_hash}, the model's key is ${spam.manifest.vkey_hash}`,
      ),
    );
  });

  test("a file carrying its request's content hash and salt is checked against its nonce", async () => {
    const salt = randomSalt();
    const contentHash = textContentHash("Subject: lunch?");
    const nonce = requestNonce(contentHash, salt, HASHED_NONCE_BITS);
    const bound = {
      ...(await prove(spam, { sample: spamSample, nonce })),
      request: { content_hash: contentHash, salt },
    };
    assert.equal((await verifyProof(spam.manifest, spam.vkey, bound)).valid, true);
    const otherText = { ...bound, request: { content_hash: textContentHash("Subject: WIN CASH"), salt } };
    const r = verdict(await file("other-content", otherText), "--model", SPAM);
    assert.equal(r.status, 1);
    assert.match(r.line, /^invalid: nonce: not the nonce that request\.content_hash and request\.salt make/);
    assert.notEqual(sampleContentHash(spamSample), contentHash);
  });

  test("the replay ledger keys on the signals: a restated nonce gets no second acceptance", async () => {
    const ledger = new NonceLedgerMemory();
    assert.equal((await verifyProof(spam.manifest, spam.vkey, spamProof, { ledger })).valid, true);
    const again = await verifyProof(spam.manifest, spam.vkey, spamProof, { ledger });
    assert.match(again.reason, /already accepted .*replay/);
    for (const nonce of [(42n + FIELD_PRIME).toString(), "042", "0x2a"]) {
      const restated = await verifyProof(spam.manifest, spam.vkey, { ...spamProof, nonce }, { ledger });
      assert.equal(restated.valid, false, nonce);
    }
    // a token-step proof's key is its first state: the same window and nonce, once
    assert.equal((await verifyProof(student.manifest, student.vkey, studentProof, { ledger })).valid, true);
    assert.equal((await verifyProof(student.manifest, student.vkey, studentProof, { ledger })).valid, false);
  });
});
