import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CircuitManifest, MANIFEST_FILE, loadManifest } from "../../src/model/circuit-manifest.js";
import { isProofgateError } from "../../src/core/errors.js";
import { readArtifact, readArtifactSync } from "../../src/core/read-artifact.js";
import { Tokenizer, TokenizerJSON } from "../../src/model/tokenizer.js";

const SPAM = "artifacts/models/pg-spam";
const shipped = JSON.parse(readFileSync(join(SPAM, MANIFEST_FILE), "utf8")) as Record<string, unknown>;

function writeManifest(content: unknown): string {
  const dir = mkdtempSync(join(tmpdir(), "pg-artifact-"));
  writeFileSync(join(dir, MANIFEST_FILE), typeof content === "string" ? content : JSON.stringify(content));
  return dir;
}

/** The error readArtifact throws: an invalid_argument ProofgateError whose one-line message matches. */
function refusal(pattern: RegExp): (err: unknown) => boolean {
  return (err) => isProofgateError(err, "invalid_argument") && !err.message.includes("\n") && pattern.test(err.message);
}

test("a shipped manifest reads as it was written", async () => {
  assert.deepEqual(await loadManifest(SPAM), shipped);
  assert.deepEqual(readArtifactSync(join(SPAM, MANIFEST_FILE), CircuitManifest), shipped);
});

test("a manifest of another format is refused on the format alone, naming the file and both versions", async () => {
  const dir = writeManifest({ ...shipped, format: 1, packing: "moved" });
  await assert.rejects(
    loadManifest(dir),
    refusal(new RegExp(`^${join(dir, MANIFEST_FILE)}: format 1 found; this proofgate reads format 2`)),
  );
  const { format: _format, ...unversioned } = shipped;
  await assert.rejects(
    loadManifest(writeManifest(unversioned)),
    refusal(/: no format found; this proofgate reads format 2/),
  );
});

test("a wrong field is named with its path", async () => {
  const dir = writeManifest({
    ...shipped,
    packing: { ...(shipped.packing as object), words: "five" },
    hints: [{ signal: "lin0" }],
    input_signal: 3,
  });
  await assert.rejects(
    loadManifest(dir),
    refusal(
      new RegExp(
        `^${join(dir, MANIFEST_FILE)}: .*packing\\.words: [^;]*; hints\\.0\\.layer: [^;]*; hints\\.0\\.width: [^;]*; and 1 more$`,
      ),
    ),
  );
});

test("a file that is not JSON, or not there, is refused naming it", async () => {
  const dir = writeManifest("{");
  await assert.rejects(
    readArtifact(join(dir, MANIFEST_FILE), CircuitManifest),
    refusal(/circuit\.json: not valid JSON/),
  );
  await assert.rejects(
    readArtifact(join(dir, "absent.json"), CircuitManifest),
    refusal(/absent\.json: cannot be read/),
  );
  await assert.rejects(
    loadManifest(join(dir, "nowhere")),
    refusal(/is not a compiled model directory \(no circuit\.json; run proofgate compile\)/),
  );
});

test("a tokenizer of another version is refused before its merges are looked at", async () => {
  const dir = mkdtempSync(join(tmpdir(), "pg-artifact-"));
  const path = join(dir, "tokenizer.json");
  const good = JSON.parse(readFileSync("artifacts/models/pg-student/tokenizer.json", "utf8")) as Record<
    string,
    unknown
  >;
  writeFileSync(path, JSON.stringify({ ...good, version: 2, merges: null }));
  await assert.rejects(
    readArtifact(path, TokenizerJSON),
    refusal(/tokenizer\.json: version 2 found; this proofgate reads version 1/),
  );
  writeFileSync(path, JSON.stringify(good));
  assert.equal(Tokenizer.fromJSON(await readArtifact(path, TokenizerJSON)).vocabSize, good.vocab_size);
});
