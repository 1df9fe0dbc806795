/**
 * Every gateway record's nonce is derived, not drawn: requestNonce(content hash, salt, bits) with a
 * fresh salt the record keeps, so anyone holding the request recomputes it, and a proof made for one
 * request (another prompt, max_tokens or stop list; another text or sample) names another nonce.
 * An oracle record keeps the nonce the oracle gave it.
 */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { pino } from "pino";
import { newId } from "../../src/core/ids.js";
import {
  generationContentHash,
  HASHED_NONCE_BITS,
  requestNonce,
  sampleContentHash,
  textContentHash,
} from "../../src/core/request-binding.js";
import { MemoryJobQueue } from "../../src/jobs/job-queue-memory.js";
import type {
  GenerationProofRequest,
  InferenceProofRequest,
  OracleRequestRef,
} from "../../src/prover/proof-request.js";
import { nonceBitsOf, ProofScheduler } from "../../src/prover/proof-scheduler.js";
import { MemoryProofStore } from "../../src/store/proof-store-memory.js";

const store = new MemoryProofStore();
const queue = new MemoryJobQueue();
const scheduler = new ProofScheduler({ store, queue, logger: pino({ level: "silent" }) });
const circuit = { modelId: "c".repeat(64), vkeyHash: "v".repeat(64) };
const NONCE_BITS = 109;

after(() => queue.close());

async function generation(prompts: number[][], maxTokens: number, stop: string[]): Promise<GenerationProofRequest> {
  const ref = await scheduler.scheduleGeneration({
    id: newId("proof"),
    model: "pg-student",
    circuit,
    endpoint: "/v1/completions",
    promptTokens: prompts,
    padToken: 319,
    choices: prompts.map((_, index) => ({
      index,
      prompt_index: index,
      tokens: [65],
      text: "A",
      finish_reason: "length",
      completion_tokens: 1,
    })),
    temperature: 0,
    maxTokens,
    stop,
    nonceBits: NONCE_BITS,
  });
  return (await store.get(ref.id))!.request as GenerationProofRequest;
}

async function classification(text: string): Promise<InferenceProofRequest> {
  const ref = await scheduler.scheduleInference({
    id: newId("proof"),
    model: "pg-spam",
    circuit,
    endpoint: "/v1/inferences",
    input: text,
    sample: [1, 0, 1],
    served: { argmax: 0, logits: [3, 1] },
    output: { label: "ham" },
    contentHash: textContentHash(text),
    nonceBits: HASHED_NONCE_BITS,
  });
  return (await store.get(ref.id))!.request as InferenceProofRequest;
}

test("a generation record's nonces recompute from its salt, each prompt, max_tokens and stop strings", async () => {
  const prompts = [
    [84, 104, 101],
    [84, 104, 101, 32, 115],
  ];
  const request = await generation(prompts, 8, ["\n", "."]);
  assert.match(request.salt, /^0x[0-9a-f]{64}$/);
  assert.equal(request.nonces.length, 2);
  for (const [k, prompt] of prompts.entries()) {
    const content = generationContentHash(prompt, 8, ["\n", "."]);
    assert.equal(request.content_hashes[k], content);
    const nonce = BigInt(request.nonces[k]!);
    assert.equal(nonce, requestNonce(content, request.salt, NONCE_BITS));
    assert.ok(nonce < 1n << BigInt(NONCE_BITS), "fits the state's nonce bits");
  }
  assert.notEqual(request.nonces[0], request.nonces[1], "another prompt, another nonce");
  assert.deepEqual(request.stop, ["\n", "."]);
  assert.equal(request.max_tokens, 8);

  // the same salt with anything else asked gives another nonce
  const nonceOf = (prompt: number[], maxTokens: number, stop: string[]) =>
    requestNonce(generationContentHash(prompt, maxTokens, stop), request.salt, NONCE_BITS).toString();
  const first = request.nonces[0];
  for (const [what, other] of [
    ["one more prompt token", nonceOf([...prompts[0]!, 32], 8, ["\n", "."])],
    ["a generated token posing as prompt", nonceOf([...prompts[0]!, 65], 8, ["\n", "."])],
    ["another max_tokens", nonceOf(prompts[0]!, 9, ["\n", "."])],
    ["a stop string less", nonceOf(prompts[0]!, 8, ["\n"])],
    ["the stop strings reordered", nonceOf(prompts[0]!, 8, [".", "\n"])],
    ["no stop strings", nonceOf(prompts[0]!, 8, [])],
  ] as const) {
    assert.notEqual(other, first, what);
  }
  assert.notEqual(
    requestNonce(request.content_hashes[0]!, `0x${"00".repeat(32)}`, NONCE_BITS).toString(),
    first,
    "another salt",
  );
});

test("every record draws a fresh salt: the same request twice has two nonces", async () => {
  const a = await generation([[1, 2, 3]], 4, []);
  const b = await generation([[1, 2, 3]], 4, []);
  assert.equal(a.content_hashes[0], b.content_hashes[0]);
  assert.notEqual(a.salt, b.salt);
  assert.notEqual(a.nonces[0], b.nonces[0]);
});

test("an inference record's nonce recomputes from its salt and content hash: 248 bits of the text's bytes", async () => {
  const request = await classification("Thanks for the patch.");
  assert.equal(request.content_hash, textContentHash("Thanks for the patch."));
  assert.equal(BigInt(request.nonce), requestNonce(request.content_hash!, request.salt!, HASHED_NONCE_BITS));
  assert.ok(BigInt(request.nonce) < 1n << 248n);
  const other = await classification("Thanks for the patch!");
  assert.notEqual(other.content_hash, request.content_hash);
  assert.notEqual(
    requestNonce(other.content_hash!, request.salt!, HASHED_NONCE_BITS),
    BigInt(request.nonce),
    "another text under the same salt",
  );
  assert.notEqual(sampleContentHash([1, 0, 1]), sampleContentHash([1, 0, 0]));
});

test("an oracle record keeps the oracle's nonce and has no salt", async () => {
  const oracle: OracleRequestRef = {
    chain_id: 31337,
    contract: `0x${"11".repeat(20)}`,
    request_id: "7",
    requester: `0x${"22".repeat(20)}`,
    callback: `0x${"33".repeat(20)}`,
    gas_limit: 100_000,
    fee_wei: "1000",
    deadline: 0,
    input: ["5"],
    tx_hash: `0x${"44".repeat(32)}`,
    block_number: 1,
  };
  const ref = await scheduler.scheduleInference({
    id: newId("proof"),
    model: "pg-spam",
    circuit,
    endpoint: "oracle",
    input: { words: ["5"] },
    sample: [1],
    served: { argmax: 0, logits: [1, 0] },
    output: 0,
    nonce: 123456789n,
    oracle,
  });
  const request = (await store.get(ref.id))!.request as InferenceProofRequest;
  assert.equal(request.nonce, "123456789");
  assert.equal(request.salt, undefined);
  assert.equal(request.content_hash, undefined);
  assert.equal(request.submit, true);
});

test("nonce widths: a token-step circuit's nonceBits, 248 for circuits that hash the nonce", () => {
  assert.equal(nonceBitsOf({ packing: { kind: "token-step", tokenBits: 9, context: 16, nonceBits: 109 } }), 109);
  assert.equal(
    nonceBitsOf({ packing: { kind: "classify", inputBits: 1, inputOffset: 0, perWord: 253, words: 5, valueBits: 16 } }),
    HASHED_NONCE_BITS,
  );
});
