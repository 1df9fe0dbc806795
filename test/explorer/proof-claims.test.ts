/**
 * The explorer page's own verification code, in node: its BigInt Poseidon equals circomlibjs's, its
 * registry selectors are the contract's, and its record checks (src/api/explorer/page/proof-claims.js)
 * accept a record whose shown values are its signals' and name what differs in each mismatched one:
 * another label, another sample, a restated nonce, tokens the steps do not prove.
 */
import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { buildPoseidon } from "circomlibjs";
import { Interface, keccak256, toUtf8Bytes } from "ethers";
import {
  generationContentHash,
  HASHED_NONCE_BITS,
  REQUEST_DOMAIN,
  randomSalt,
  requestNonce,
  textContentHash,
} from "../../src/core/request-binding.js";
import { FIELD_PRIME } from "../../src/snark/field.js";
import { POSEIDON_CONSTANTS } from "../../src/api/explorer/router.js";
import { circuitLayout } from "../../src/api/proofs/service.js";
import { loadManifest } from "../../src/model/circuit-manifest.js";
import type { CircuitManifest } from "../../src/model/circuit-manifest.js";
import { expectedPublicSignals, hashWords } from "../../src/witness/circuit-input.js";
import { decodingStepWindows } from "../../src/witness/step-windows.js";
import { SPAM_FEATURIZER, spamFeatures } from "../../src/model/spam-features.js";

type Poseidon = (inputs: readonly bigint[]) => bigint;
type Check = { ok: boolean; label: string; detail: string };
interface PageClaims {
  recordChecks(
    record: unknown,
    layout: unknown,
    poseidon: Poseidon,
    featurizer?: unknown,
  ): { checks: Check[]; decoded: { label: string; value: string }[]; bound?: boolean };
  requestNonce(contentHash: string, salt: string, bits: number): string;
  generationContentHash(promptTokens: readonly number[], maxTokens: number, stop: readonly string[]): string;
  REQUEST_DOMAIN: string;
  hashWords(poseidon: Poseidon, words: readonly bigint[]): bigint;
  textFeatures(text: string, featurizer: unknown): number[];
}
const page = (file: string): Promise<unknown> =>
  import(new URL(`../../src/api/explorer/page/${file}`, import.meta.url).href);

describe("the explorer page's verification code", () => {
  let poseidon: Poseidon;
  let claims: PageClaims;
  let spam: CircuitManifest;
  let student: CircuitManifest;
  const sample: number[] = new Array(1024).fill(0).map((_, i) => (i % 5 === 0 ? 1 : 0));
  const bad = (r: { checks: Check[] }) => r.checks.filter((c) => !c.ok).map((c) => `${c.label}: ${c.detail}`);

  before(async () => {
    const { poseidonFromConstants } = (await page("poseidon.js")) as { poseidonFromConstants(c: unknown): Poseidon };
    poseidon = poseidonFromConstants(JSON.parse(await readFile(POSEIDON_CONSTANTS, "utf8")));
    claims = (await page("proof-claims.js")) as PageClaims;
    [spam, student] = await Promise.all([
      loadManifest("artifacts/models/pg-spam"),
      loadManifest("artifacts/models/pg-student"),
    ]);
  });

  test("its Poseidon is circomlibjs's, for 1 to 16 inputs, and chained over many words", async () => {
    const reference = await buildPoseidon();
    for (const n of [1, 2, 5, 7, 16]) {
      const inputs = Array.from(
        { length: n },
        (_, i) => (BigInt(i + 1) * 0x9e3779b97f4a7c15n ** BigInt(i + 2)) % FIELD_PRIME,
      );
      assert.equal(poseidon(inputs), reference.F.toObject(reference(inputs)), `${n} inputs`);
    }
    const words = Array.from({ length: 40 }, (_, i) => BigInt(i) * 12345678901234567n);
    assert.equal(claims.hashWords(poseidon, words), await hashWords(words));
  });

  test("its keccak is ethers', at every padding boundary, and its request nonce is request-binding.ts's", async () => {
    const { keccak256: pageKeccak } = (await page("keccak.js")) as { keccak256(bytes: Uint8Array): string };
    for (const n of [0, 1, 31, 32, 135, 136, 137, 272, 300]) {
      const bytes = toUtf8Bytes("ab".repeat(n).slice(0, n));
      assert.equal(pageKeccak(bytes), keccak256(bytes), `${n} bytes`);
    }
    assert.equal(claims.REQUEST_DOMAIN, REQUEST_DOMAIN);
    const salt = randomSalt();
    for (const bits of [HASHED_NONCE_BITS, 109])
      assert.equal(
        claims.requestNonce(textContentHash("hello"), salt, bits),
        requestNonce(textContentHash("hello"), salt, bits).toString(),
      );
  });

  test("its registry calls are encoded as ethers encodes them", async () => {
    const calls = (await page("registry-call.js")) as {
      encodeVerify(k: string, p: unknown, s: string[]): string;
      encodeModels(k: string): string;
      encodeModelField(k: string): string;
    };
    const registry = new Interface([
      "function models(bytes32) view returns (address, uint8, uint8, uint8, uint16, bytes4)",
      "function modelField(bytes32) view returns (uint256)",
      "function verify(bytes32, uint256[8], uint256[]) view returns (bool)",
    ]);
    const key = `0x${spam.vkey_hash}`;
    const proof = {
      pi_a: ["1", "2", "1"],
      pi_b: [
        ["3", "4"],
        ["5", "6"],
        ["1", "0"],
      ],
      pi_c: ["7", "8", "1"],
    };
    const signals = ["9", (FIELD_PRIME - 1n).toString()];
    assert.equal(calls.encodeModels(spam.vkey_hash), registry.encodeFunctionData("models", [key]));
    assert.equal(calls.encodeModelField(key), registry.encodeFunctionData("modelField", [key]));
    assert.equal(
      calls.encodeVerify(key, proof, signals),
      registry.encodeFunctionData("verify", [key, [1, 2, 4, 3, 6, 5, 7, 8], signals]),
    );
  });

  async function classifyRecord(
    shown: { sample: number[]; nonce: string; label: number },
    proven: { sample: number[]; nonce: bigint; label: number },
  ) {
    const signals = (await expectedPublicSignals(spam, proven.sample, proven.nonce, proven.label)).map(String);
    return {
      request: {
        kind: "inference",
        circuit: spam.model_id,
        nonce: shown.nonce,
        input: "text",
        sample: shown.sample,
        served: { argmax: shown.label, logits: [0, 0] },
      },
      output: { label: shown.label === 1 ? "spam" : "ham", label_id: shown.label },
      public_signals: signals,
      steps: [],
    };
  }

  test("a classifier record: its own signals pass; another label, sample or nonce is named", async () => {
    const layout = circuitLayout(spam);
    const honest = { sample, nonce: 42n, label: 0 };
    const genuine = claims.recordChecks(
      await classifyRecord({ sample, nonce: "42", label: 0 }, honest),
      layout,
      poseidon,
    );
    assert.deepEqual(bad(genuine), []);
    assert.ok(genuine.decoded.some((d) => d.label === "label" && d.value === "0"));

    const relabeled = bad(
      claims.recordChecks(await classifyRecord({ sample, nonce: "42", label: 1 }, honest), layout, poseidon),
    );
    assert.ok(
      relabeled.some((r) => /^Output label: the signals carry label 0/.test(r)),
      relabeled.join("\n"),
    );
    const other = [...sample];
    other[3] = 1;
    const otherSample = bad(
      claims.recordChecks(await classifyRecord({ sample: other, nonce: "42", label: 0 }, honest), layout, poseidon),
    );
    assert.ok(
      otherSample.some((r) => /^Input commitment: /.test(r)),
      otherSample.join("\n"),
    );
    const feature2 = [...sample];
    [feature2[4], feature2[5]] = [2, 0];
    assert.ok(
      bad(
        claims.recordChecks(
          await classifyRecord({ sample: feature2, nonce: "42", label: 0 }, honest),
          layout,
          poseidon,
        ),
      ).some((r) => /^Input sample: .*value 4 is 2/.test(r)),
    );
    const receipt = {
      ...(await classifyRecord({ sample, nonce: "42", label: 0 }, honest)),
      chain: { input_commitment: "12345" },
    };
    assert.ok(
      bad(claims.recordChecks(receipt, layout, poseidon)).some((r) =>
        /^On-chain input commitment: the receipt shows 12345/.test(r),
      ),
    );
    // a record naming its content hash and salt: the nonce and the text are both recomputed
    const salt = randomSalt();
    const boundNonce = requestNonce(textContentHash("text"), salt, HASHED_NONCE_BITS);
    const boundRecord = await classifyRecord(
      { sample, nonce: boundNonce.toString(), label: 0 },
      { sample, nonce: boundNonce, label: 0 },
    );
    const bound = claims.recordChecks(
      { ...boundRecord, request: { ...boundRecord.request, content_hash: textContentHash("text"), salt } },
      layout,
      poseidon,
    );
    assert.deepEqual(bad(bound), []);
    assert.equal(bound.bound, true);
    const otherText = {
      ...boundRecord,
      request: { ...boundRecord.request, input: "another text", content_hash: textContentHash("text"), salt },
    };
    assert.ok(
      bad(claims.recordChecks(otherText, layout, poseidon)).some((r) =>
        /^Request content: the content hash is not keccak of the text shown/.test(r),
      ),
    );
    const otherSalt = {
      ...boundRecord,
      request: { ...boundRecord.request, content_hash: textContentHash("text"), salt: randomSalt() },
    };
    assert.ok(
      bad(claims.recordChecks(otherSalt, layout, poseidon)).some((r) =>
        /^Request binding: the nonce is not keccak/.test(r),
      ),
    );
    const plusP = bad(
      claims.recordChecks(
        await classifyRecord({ sample, nonce: (42n + FIELD_PRIME).toString(), label: 0 }, honest),
        layout,
        poseidon,
      ),
    );
    assert.ok(
      plusP.some((r) => /^Request nonce: .*not the canonical nonce/.test(r)),
      plusP.join("\n"),
    );
  });

  test("a classifier record's text: its features are recomputed with the model's featurizer", async () => {
    const layout = circuitLayout(spam);
    const texts = ["Subject: WIN CASH NOW\n\nClick here", "lunch at noon? ÄÖ — 42 café", ""];
    for (const text of texts)
      assert.deepEqual(
        claims.textFeatures(text, SPAM_FEATURIZER),
        Array.from(spamFeatures(text)),
        JSON.stringify(text),
      );
    const [spamText, hamText] = texts;
    const hamSample = Array.from(spamFeatures(hamText!));
    const proven = await classifyRecord(
      { sample: hamSample, nonce: "5", label: 0 },
      { sample: hamSample, nonce: 5n, label: 0 },
    );
    assert.deepEqual(
      bad(
        claims.recordChecks(
          { ...proven, request: { ...proven.request, input: hamText } },
          layout,
          poseidon,
          SPAM_FEATURIZER,
        ),
      ),
      [],
    );
    const underOtherText = bad(
      claims.recordChecks(
        { ...proven, request: { ...proven.request, input: spamText } },
        layout,
        poseidon,
        SPAM_FEATURIZER,
      ),
    );
    assert.deepEqual(
      underOtherText.map((r) => r.split(":")[0]),
      ["Features of the text"],
    );
  });

  async function generationRecord(shownTokens: number[], provenTokens: number[]) {
    const prompt = [12, 40, 7];
    const salt = randomSalt();
    const stop = ["\nUser:", "é!"];
    const contentHash = generationContentHash(prompt, 2, stop);
    const nonce = requestNonce(contentHash, salt, (student.packing as { nonceBits: number }).nonceBits);
    const context = (student.packing as { context: number }).context;
    const windows = decodingStepWindows(prompt, provenTokens, context, 0);
    const steps = await Promise.all(
      provenTokens.map(async (token, k) => ({
        index: k,
        output: { choice: 0, position: k, token: shownTokens[k] },
        public_signals: (await expectedPublicSignals(student, windows[k]!, nonce, token)).map(String),
      })),
    );
    return {
      request: {
        kind: "generation",
        circuit: student.model_id,
        nonces: [nonce.toString()],
        content_hashes: [contentHash],
        salt,
        stop,
        prompt_tokens: [prompt],
        pad_token: 0,
        max_tokens: 2,
      },
      output: { choices: [{ index: 0, prompt_index: 0, tokens: shownTokens, text: "", finish_reason: "length" }] },
      public_signals: null,
      steps,
    };
  }

  test("a completion: tokens its steps prove pass; tokens [999, 998] over proofs of [115, 44] are named", async () => {
    const layout = circuitLayout(student);
    assert.deepEqual(bad(claims.recordChecks(await generationRecord([115, 44], [115, 44]), layout, poseidon)), []);
    const lying = claims.recordChecks(await generationRecord([999, 998], [115, 44]), layout, poseidon);
    assert.ok(
      lying.decoded.some((d) => d.label === "choice 0 tokens" && d.value === "[115, 44]"),
      "the page shows what the steps prove",
    );
    const shown = bad(lying);
    assert.ok(
      shown.some((r) => /^Tokens of choice 0: step 0 .*(window|token)/.test(r)),
      shown.join("\n"),
    );
    const reordered = bad(claims.recordChecks(await generationRecord([44, 115], [115, 44]), layout, poseidon));
    assert.ok(
      reordered.some((r) => /^Tokens of choice 0: step 0 proves token 115, the record shows 44/.test(r)),
      reordered.join("\n"),
    );
    const cut = await generationRecord([115, 44], [115, 44]);
    cut.steps.pop();
    assert.ok(
      bad(claims.recordChecks(cut, layout, poseidon)).some((r) => /shows 2 tokens; 1 steps are proven/.test(r)),
    );
  });

  test("a completion's nonce is bound to its prompt, max_tokens and stop strings, recomputed in the page as ethers does", async () => {
    const layout = circuitLayout(student);
    for (const [prompt, maxTokens, stop] of [
      [[1, 2, 3], 16, ["\nUser:"]],
      [[], 1, []],
      [[319, 0, 5], 4096, ["a", "😀 long stop string beyond thirty-two bytes"]],
    ] as const) {
      assert.equal(
        claims.generationContentHash(prompt, maxTokens, stop),
        generationContentHash(prompt, maxTokens, stop),
      );
    }
    const record = await generationRecord([115, 44], [115, 44]);
    const other = (change: Record<string, unknown>) =>
      bad(claims.recordChecks({ ...record, request: { ...record.request, ...change } }, layout, poseidon));
    assert.ok(other({ max_tokens: 3 }).some((r) => /^Request content: the content hash is not keccak/.test(r)));
    assert.ok(other({ stop: [] }).some((r) => /^Request content/.test(r)));
    assert.ok(other({ salt: randomSalt() }).some((r) => /^Request binding: the nonce is not keccak/.test(r)));
    assert.ok(other({ nonces: [] }).some((r) => /^Request nonce: the record has 0 nonces for 1 prompt/.test(r)));
  });
});
