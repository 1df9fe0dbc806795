import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { compileModel } from "../../src/circuit/compile.js";
import {
  contributePhase2,
  installPhase2,
  readPhase2Chain,
  verifyPhase2,
  beaconPhase2,
} from "../../src/circuit/phase2.js";
import { readSetupTranscript, SETUP_FILE } from "../../src/snark/setup-transcript.js";
import { ptauPower } from "../../src/circuit/snark-binfile.js";
import { vkeyHash } from "../../src/snark/vkey-hash.js";
import type { IntegerModel } from "../../src/model/integer-model.js";
import { integerModelToOnnx } from "../../src/onnx/integer-onnx-export.js";
import { loadCompiledModel } from "../../src/prover/compiled-model.js";
import { prove } from "../../src/prover/prove.js";
import { verifyProof } from "../../src/prover/verify.js";
import { releaseSnarkWorkers } from "../../src/snark/snark-workers.js";

const PTAU = "artifacts/ptau/pot15_final.ptau";
const cli = (...args: string[]) =>
  spawnSync(process.execPath, ["--import", "tsx", "src/main.ts", ...args], { encoding: "utf8" });

/** 8 bits → 3 classes: a circuit of a few hundred constraints, so each setup step takes about a second. */
function tinyClassifier(seed: number): Uint8Array {
  const weight = Int32Array.from({ length: 24 }, (_, i) => ((i * 7 + seed * 13) % 11) - 5);
  const model: IntegerModel = {
    input: { kind: "bits", size: 8 },
    classes: 3,
    layers: [{ kind: "dense", inputs: 8, outputs: 3, weight, bias: Int32Array.from([seed, 0, -seed]) }],
  };
  return integerModelToOnnx(model, `tiny-${seed}`, { "proofgate.task": "text-classification" });
}

/** The byte range of one section of a snarkjs binary file. */
function sectionRange(file: Buffer, type: number): [number, number] {
  let at = 12;
  for (let i = 0; i < file.readUInt32LE(8); i++) {
    const size = Number(file.readBigUInt64LE(at + 4));
    if (file.readUInt32LE(at) === type) return [at + 12, at + 12 + size];
    at += 12 + size;
  }
  throw new Error(`no section ${type}`);
}

describe("phase 2 with outside contributors and a beacon", () => {
  let work: string;
  let dir: string;
  let other: string;
  before(async () => {
    work = await mkdtemp(join(tmpdir(), "pg-ceremony-"));
    dir = join(work, "model");
    other = join(work, "other");
    await compileModel({ onnx: tinyClassifier(1), outDir: dir });
    await compileModel({ onnx: tinyClassifier(2), outDir: other });
  });
  after(async () => {
    await rm(work, { recursive: true, force: true });
    await releaseSnarkWorkers();
  });

  test("compile writes setup.json with its own contribution, verified, and phase 1 named by its header and hashes", async () => {
    const transcript = (await readSetupTranscript(dir))!;
    const manifest = JSON.parse(await readFile(join(dir, "circuit.json"), "utf8"));
    assert.equal(transcript.format, 1);
    assert.equal(transcript.phase1.file, PTAU);
    assert.equal(transcript.phase1.power, 15);
    assert.equal(await ptauPower(PTAU), 15);
    const ceremony = JSON.parse(await readFile("artifacts/ptau/ceremony.json", "utf8"));
    assert.deepEqual(transcript.phase1.contributions, ceremony.contributions);
    assert.equal(transcript.phase1.sha256, ceremony.sha256);
    assert.deepEqual(
      transcript.phase2.contributions.map((c) => c.name),
      ["proofgate compile"],
    );
    assert.equal(transcript.phase2.beacon, null);
    assert.equal(transcript.verified, true);
    assert.equal(transcript.vkey_hash, manifest.vkey_hash);
    assert.equal(manifest.phase2_contribution, undefined);
  });

  test("two outside contributions, imported in turn, then a beacon: the chain verifies and the transcript lists them in order", async () => {
    const before = await loadCompiledModel(dir);
    const oldProof = await prove(before, { sample: [1, 0, 1, 1, 0, 0, 1, 0] });

    const exported = join(work, "export.zkey");
    const exportRun = cli("ceremony", "phase2", "export", "--model", dir, "--out", exported);
    assert.equal(exportRun.status, 0, exportRun.stderr);
    const contributeRun = cli(
      "ceremony",
      "phase2",
      "contribute",
      "--in",
      exported,
      "--out",
      join(work, "alice.zkey"),
      "--name",
      "alice",
      "--entropy",
      "alice's dice rolls",
    );
    assert.equal(contributeRun.status, 0, contributeRun.stderr);
    const aliceHash = JSON.parse(contributeRun.stdout).contribution_hash as string;
    const importRun = cli("ceremony", "phase2", "import", "--model", dir, "--zkey", join(work, "alice.zkey"));
    assert.equal(importRun.status, 0, importRun.stderr);

    await copyFile(join(dir, "circuit.zkey"), exported);
    const bobHash = await contributePhase2({ input: exported, output: join(work, "bob.zkey"), name: "bob" });
    await installPhase2({ dir, zkey: join(work, "bob.zkey") });

    const beaconRun = cli(
      "ceremony",
      "phase2",
      "beacon",
      "--model",
      dir,
      "--beacon",
      `0x${"ab".repeat(32)}`,
      "--iterations",
      "10",
      "--source",
      "test value",
    );
    assert.equal(beaconRun.status, 0, beaconRun.stderr);
    const verifyRun = cli("ceremony", "phase2", "verify", "--model", dir);
    assert.equal(verifyRun.status, 0, verifyRun.stderr);

    const transcript = (await readSetupTranscript(dir))!;
    const steps = transcript.phase2.contributions;
    assert.deepEqual(
      steps.map((c) => c.name),
      ["proofgate compile", "alice", "bob", "final beacon"],
    );
    assert.equal(steps[1].hash, aliceHash);
    assert.equal(steps[2].hash, bobHash);
    assert.deepEqual(
      steps.slice(0, 3).map((c) => c.beacon),
      [null, null, null],
    );
    assert.deepEqual(transcript.phase2.beacon, { hash: "ab".repeat(32), iterations: 10, source: "test value" });
    assert.equal(transcript.verified, true);
    // the transcript is what the key holds, not what a tool claimed
    assert.deepEqual((await readPhase2Chain(join(dir, "circuit.zkey"))).contributions, steps);

    const after = await loadCompiledModel(dir);
    assert.notEqual(after.manifest.vkey_hash, before.manifest.vkey_hash);
    assert.equal(after.manifest.vkey_hash, vkeyHash(after.vkey));
    assert.equal(transcript.vkey_hash, after.manifest.vkey_hash);
    assert.match(
      await readFile(join(dir, "Verifier.sol"), "utf8"),
      new RegExp(String((after.vkey.vk_delta_2 as string[][])[0][0])),
    );
    const fresh = await prove(after, { sample: [1, 0, 1, 1, 0, 0, 1, 0] });
    assert.equal((await verifyProof(after.manifest, after.vkey, fresh)).valid, true);
    // a proof under the compile-time key no longer verifies: the new contributions changed the key
    assert.equal(
      (await verifyProof(after.manifest, after.vkey, { ...oldProof, vkey_hash: after.manifest.vkey_hash })).valid,
      false,
    );
  });

  test("a key contributed on another circuit fails verification and import refuses it", async () => {
    const foreign = join(work, "foreign.zkey");
    await contributePhase2({ input: join(other, "circuit.zkey"), output: foreign, name: "mallory" });
    assert.equal(await verifyPhase2({ r1cs: join(dir, "circuit.r1cs"), ptau: PTAU, zkey: foreign }), false);
    const installed = await readFile(join(dir, "circuit.zkey"));
    await assert.rejects(installPhase2({ dir, zkey: foreign }), /another circuit/);
    assert.ok((await readFile(join(dir, "circuit.zkey"))).equals(installed));
  });

  test("a key with two proving-key points swapped fails verification, and import refuses it", async () => {
    const good = join(work, "good.zkey");
    await contributePhase2({ input: join(dir, "circuit.zkey"), output: good, name: "carol" });
    assert.equal(await verifyPhase2({ r1cs: join(dir, "circuit.r1cs"), ptau: PTAU, zkey: good }), true);
    const bytes = await readFile(good);
    const [start] = sectionRange(bytes, 8); // L: the private-witness points, 64 bytes each
    const first = Buffer.from(bytes.subarray(start, start + 64));
    bytes.copy(bytes, start, start + 64, start + 128);
    first.copy(bytes, start + 64);
    const tampered = join(work, "tampered.zkey");
    await writeFile(tampered, bytes);
    assert.equal(await verifyPhase2({ r1cs: join(dir, "circuit.r1cs"), ptau: PTAU, zkey: tampered }), false);
    const transcript = await readFile(join(dir, SETUP_FILE), "utf8");
    const r = cli("ceremony", "phase2", "import", "--model", dir, "--zkey", tampered);
    assert.equal(r.status, 1);
    // the last line: node may warn first about a file snarkjs's verifier leaves open
    assert.match(
      r.stderr.trim().split("\n").at(-1)!,
      /^proofgate ceremony phase2 import: .*fails snarkjs zkey verification/,
    );
    assert.equal(await readFile(join(dir, SETUP_FILE), "utf8"), transcript);
    const verify = cli("ceremony", "phase2", "verify", "--model", dir, "--zkey", tampered);
    assert.equal(verify.status, 1);
  });

  test("import refuses a key that drops installed contributions or adds none", async () => {
    const installed = (await readPhase2Chain(join(dir, "circuit.zkey"))).contributions;
    // a valid chain that forks from the installed one before its beacon
    const short = join(work, "short.zkey");
    await beaconPhase2({
      input: join(work, "bob.zkey"),
      output: short,
      name: "another beacon",
      beacon: "cd".repeat(32),
      iterations: 10,
    });
    assert.equal(await verifyPhase2({ r1cs: join(dir, "circuit.r1cs"), ptau: PTAU, zkey: short }), true);
    await assert.rejects(
      installPhase2({ dir, zkey: short }),
      new RegExp(`contribution ${installed.length} \\("final beacon"\\) is missing or changed`),
    );
    await assert.rejects(installPhase2({ dir, zkey: join(dir, "circuit.zkey") }), /adds no contribution/);
  });

  test("a setup.json that is not a transcript is refused when read, naming the field", async () => {
    const bad = join(work, "bad");
    await mkdir(bad);
    const transcript = JSON.parse(await readFile(join(dir, SETUP_FILE), "utf8"));
    await writeFile(
      join(bad, SETUP_FILE),
      JSON.stringify({ ...transcript, phase2: { ...transcript.phase2, contributions: [{ name: "x", hash: "00" }] } }),
    );
    await assert.rejects(readSetupTranscript(bad), /phase2\.contributions\.0\.hash/);
    await writeFile(join(bad, SETUP_FILE), "{");
    await assert.rejects(readSetupTranscript(bad), /not valid JSON/);
    assert.equal(await readSetupTranscript(work), null);
  });

  test("contribute and beacon check their parameters", async () => {
    const zkey = join(dir, "circuit.zkey");
    await assert.rejects(contributePhase2({ input: zkey, output: join(work, "x.zkey"), name: "" }), /needs a name/);
    await assert.rejects(
      contributePhase2({ input: zkey, output: join(work, "x.zkey"), name: "n".repeat(65) }),
      /at most 64 bytes/,
    );
    await assert.rejects(
      contributePhase2({ input: join(dir, "circuit.r1cs"), output: join(work, "x.zkey"), name: "x" }),
      /not a \.zkey file/,
    );
    await assert.rejects(
      beaconPhase2({ input: zkey, output: join(work, "x.zkey"), name: "b", beacon: "xyz", iterations: 10 }),
      /hex/,
    );
    await assert.rejects(
      beaconPhase2({ input: zkey, output: join(work, "x.zkey"), name: "b", beacon: "ab", iterations: 9 }),
      /10 to 63/,
    );
    const r = cli("ceremony", "phase2", "beacon", "--model", dir, "--beacon", "ab", "--iterations", "1");
    assert.equal(r.status, 2);
    assert.equal(r.stderr.trim().split("\n").length, 1);
  });
});
