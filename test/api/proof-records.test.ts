/**
 * End to end: an official `openai` client asks the gateway, the answer names its proof record, an
 * in-process worker proves it through the real queue and SQLite store, and the record's proofs verify
 * with snarkjs against the verification key the API serves, chaining to exactly the served tokens.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import * as snarkjs from "snarkjs";
import type { WireProof } from "../../src/core/proof-record.js";
import type { LanguageModel } from "../../src/model/served-model.js";
import {
  generationContentHash,
  HASHED_NONCE_BITS,
  requestNonce,
  textContentHash,
} from "../../src/core/request-binding.js";
import { CHAT_TEMPLATE_STOPS } from "../../src/model/chat-template.js";
import type {
  GenerationProofOutput,
  GenerationProofRequest,
  InferenceProofRequest,
  StepOutput,
} from "../../src/prover/proof-request.js";
import { nonceBitsOf } from "../../src/prover/proof-scheduler.js";
import { decodePublicSignals, expectedPublicSignals } from "../../src/witness/circuit-input.js";
import { parseSse, postJson, startProvingTestGateway, type ProvingTestGateway } from "./gateway-fixture.js";
import { settledProof } from "../fixtures/until.js";

describe("proof records of served answers", () => {
  let gw: ProvingTestGateway;
  before(async () => {
    gw = await startProvingTestGateway({ provers: 1, proverConcurrency: 2 });
  });
  after(() => gw.close());

  const getJson = async <T>(path: string): Promise<T> => {
    const res = await fetch(`${gw.url}${path}`);
    assert.equal(res.status, 200, await res.clone().text());
    return (await res.json()) as T;
  };
  const waitForProof = (id: string) => settledProof(gw.url, id, ["proved", "failed"]);

  /** Every step proof verifies, each choice's steps chain, and the proven tokens are the served ones. */
  async function assertProvedGeneration(record: WireProof): Promise<void> {
    assert.equal(record.status, "proved", record.error ?? "");
    const vkey = await getJson<Record<string, unknown>>(`/v1/proofs/${record.id}/verification_key`);
    const circuit = (gw.registry.get(record.model) as LanguageModel).circuit!;
    assert.ok(record.steps.length > 0);
    for (const step of record.steps) {
      assert.equal(step.status, "proved");
      assert.equal(await snarkjs.groth16.verify(vkey, step.public_signals!, step.proof as snarkjs.Groth16Proof), true);
    }
    const request = record.request as GenerationProofRequest;
    for (const choice of (record.output as GenerationProofOutput).choices) {
      const steps = record.steps.filter((s) => (s.output as StepOutput).choice === choice.index);
      assert.equal(choice.completion_tokens, steps.length, "one step per served token");
      // the nonce every step carries is the one its request derives: prompt, max_tokens, stop strings and salt
      const nonce = requestNonce(
        generationContentHash(request.prompt_tokens[choice.prompt_index]!, request.max_tokens, request.stop),
        request.salt,
        nonceBitsOf(circuit),
      );
      assert.equal(request.nonces[choice.prompt_index], nonce.toString());
      steps.forEach((step, k) => {
        if (k > 0) assert.equal(step.public_signals![0], steps[k - 1]!.public_signals![1], "steps chain");
        const decoded = decodePublicSignals(circuit, step.public_signals!.map(BigInt));
        assert.equal(decoded.kind === "token-step" && decoded.next_token, choice.tokens[k]);
        assert.equal(decoded.kind === "token-step" && decoded.nonce, nonce.toString());
      });
    }
    for (const stage of ["queued", "witness", "prove", "verify"])
      assert.equal(typeof record.timings[stage], "number", stage);
    assert.ok(record.prover);
  }

  it("a chat completion's answer names its proof, which ends proved and verifies step by step", async () => {
    const { data, response } = await gw.client.chat.completions
      .create({ model: "pg-student", messages: [{ role: "user", content: "Tell me about the whale." }], max_tokens: 5 })
      .withResponse();
    const proof = (data as unknown as { proof: { id: string; status: string; url: string } }).proof;
    assert.match(proof.id, /^proof-[0-9a-f]{24}$/);
    assert.equal(response.headers.get("x-proof-id"), proof.id);
    assert.equal(proof.url, `/v1/proofs/${proof.id}`);
    const record = await waitForProof(proof.id);
    await assertProvedGeneration(record);
    const model = gw.registry.get("pg-student") as LanguageModel;
    const choice = (record.output as GenerationProofOutput).choices[0]!;
    assert.ok(
      model.tokenizer
        .decode(choice.tokens.filter((t) => t !== model.tokenizer.eotId))
        .startsWith(data.choices[0]!.message.content!),
    );
    assert.deepEqual(
      (record.request as GenerationProofRequest).stop,
      CHAT_TEMPLATE_STOPS,
      "the chat template's stop strings are part of the request",
    );
  });

  it("a completion ended by a stop string proves exactly its tokens up to the one that completed it", async () => {
    // greedy "The old man and the" goes on " Union of": "io" ends inside the 4th token
    const res = await gw.client.completions.create({
      model: "pg-student",
      prompt: "The old man and the",
      max_tokens: 12,
      stop: ["io"],
    });
    assert.deepEqual([res.choices[0]!.text, res.choices[0]!.finish_reason], [" Un", "stop"]);
    const record = await waitForProof((res as unknown as { proof: { id: string } }).proof.id);
    await assertProvedGeneration(record);
    const choice = (record.output as GenerationProofOutput).choices[0]!;
    const tokenizer = (gw.registry.get("pg-student") as LanguageModel).tokenizer;
    assert.equal(choice.tokens.length, 4);
    assert.ok(
      tokenizer.decode(choice.tokens).includes("io") && !tokenizer.decode(choice.tokens.slice(0, -1)).includes("io"),
      "the last token completes the stop string",
    );
    assert.deepEqual([choice.finish_reason, choice.completion_tokens, choice.text], ["stop", 4, " Un"]);
    const request = record.request as GenerationProofRequest;
    assert.deepEqual([request.max_tokens, request.stop], [12, ["io"]]);
  });

  it("text completions with several prompts and n prove every choice", async () => {
    const res = await gw.client.completions.create({
      model: "pg-student",
      prompt: ["The sea", "The President"],
      n: 2,
      max_tokens: 3,
    });
    const proof = (res as unknown as { proof: { id: string } }).proof;
    const record = await waitForProof(proof.id);
    assert.equal((record.output as GenerationProofOutput).choices.length, 4);
    await assertProvedGeneration(record);
  });

  it("a stream carries X-Proof-Id in its headers and the proof on the last chunk before [DONE]", async () => {
    const res = await postJson(`${gw.url}/v1/chat/completions`, {
      model: "pg-student",
      messages: [{ role: "user", content: "Ahoy" }],
      max_tokens: 3,
      stream: true,
    });
    const id = res.headers.get("x-proof-id");
    const events = parseSse(await res.text());
    assert.equal(events.at(-1), "[DONE]");
    const last = JSON.parse(events.at(-2)!) as { proof?: { id: string }; choices: unknown[] };
    assert.equal(last.proof?.id, id);
    assert.deepEqual(last.choices, []);
    await assertProvedGeneration(await waitForProof(id!));
  });

  it('"proof": false skips proving; a model without a circuit is never proven', async () => {
    const skipped = await postJson(`${gw.url}/v1/completions`, {
      model: "pg-student",
      prompt: "The sea",
      max_tokens: 2,
      proof: false,
    });
    assert.equal(skipped.headers.get("x-proof-id"), null);
    assert.equal(((await skipped.json()) as { proof?: unknown }).proof, undefined);
    const teacher = await postJson(`${gw.url}/v1/completions`, {
      model: "pg-teacher",
      prompt: "The sea",
      max_tokens: 2,
    });
    assert.equal(teacher.headers.get("x-proof-id"), null);
    assert.equal(((await teacher.json()) as { proof?: unknown }).proof, undefined);
  });

  it("sampled answers (temperature > 0) are recorded as not provable, with the reason", async () => {
    const res = await gw.client.completions.create({
      model: "pg-student",
      prompt: "The sea",
      max_tokens: 3,
      temperature: 0.8,
      seed: 7,
    });
    const proof = (res as unknown as { proof: { id: string; status: string } }).proof;
    assert.equal(proof.status, "failed");
    const record = await waitForProof(proof.id);
    assert.equal(record.status, "failed");
    assert.match(record.error!, /temperature 0\.8/);
  });

  it("a classifier inference is proven: its claim decodes to the served label", async () => {
    const text = "Subject: WIN CASH NOW\n\nClick here to claim your free prize money";
    const res = await postJson(`${gw.url}/v1/inferences`, { model: "pg-spam", input: text });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { output: { label_id: number }; proof: { id: string } };
    assert.equal(res.headers.get("x-proof-id"), body.proof.id);
    const record = await waitForProof(body.proof.id);
    assert.equal(record.status, "proved", record.error ?? "");
    const vkey = await getJson<Record<string, unknown>>(`/v1/proofs/${record.id}/verification_key`);
    assert.equal(
      await snarkjs.groth16.verify(vkey, record.public_signals!, record.proof as snarkjs.Groth16Proof),
      true,
    );
    const circuit = gw.registry.get("pg-spam").circuit!;
    const decoded = decodePublicSignals(circuit, record.public_signals!.map(BigInt));
    assert.equal(decoded.kind === "classify" && decoded.label, body.output.label_id);
    assert.equal(record.vkey_hash, circuit.vkey_hash);
    // its nonce is the one the text's bytes and the record's salt derive, and the claim commits to it
    const request = record.request as InferenceProofRequest;
    assert.equal(request.content_hash, textContentHash(text));
    const nonce = requestNonce(textContentHash(text), request.salt!, HASHED_NONCE_BITS);
    assert.equal(request.nonce, nonce.toString());
    assert.deepEqual(
      record.public_signals,
      (await expectedPublicSignals(circuit, request.sample, nonce, body.output.label_id)).map(String),
    );
  });

  it("a text with an unpaired surrogate is refused: it has no bytes a proof's nonce could commit to", async () => {
    const res = await postJson(`${gw.url}/v1/inferences`, { model: "pg-spam", input: "lone \ud800 surrogate" });
    assert.equal(res.status, 400);
    const { error } = (await res.json()) as { error: { code: string; param: string; message: string } };
    assert.deepEqual([error.code, error.param], ["invalid_argument", "input"]);
    assert.match(error.message, /surrogate/);
  });

  it("lists the records, newest first, filtered by model and status", async () => {
    const list = await getJson<{ object: string; data: WireProof[]; has_more: boolean }>(
      "/v1/proofs?model=pg-student&status=proved&limit=2",
    );
    assert.equal(list.object, "list");
    assert.equal(list.data.length, 2);
    assert.equal(list.has_more, true);
    assert.ok(list.data.every((r) => r.model === "pg-student" && r.status === "proved"));
    assert.ok(list.data[0]!.created >= list.data[1]!.created);
  });
});
