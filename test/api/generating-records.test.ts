/**
 * A proven answer's record exists before its first byte: `generating` while the answer is produced,
 * `queued` (then proved) once it is whole, `failed` with the reason when the client cuts it off. The
 * test holds pg-student's only batch slot itself, so a request has its record and its first chunk but
 * waits for a slot until the test lets it go: what a slow generation looks like, without timing.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { WireProof } from "../../src/core/proof-record.js";
import { newId } from "../../src/core/ids.js";
import type { LanguageModel } from "../../src/model/served-model.js";
import type { BatchSlot } from "../../src/model/continuous-batcher.js";
import { provenGeneration } from "../../src/api/generation-proof.js";
import type { GenerationProofRequest } from "../../src/prover/proof-request.js";
import { settledProof, until } from "../fixtures/until.js";
import { postJson, startProvingTestGateway, type ProvingTestGateway } from "./gateway-fixture.js";

describe("records before the answer leaves", () => {
  let gw: ProvingTestGateway;
  let student: LanguageModel;
  before(async () => {
    gw = await startProvingTestGateway({ provers: 1, maxBatchSize: 1, maxWaiting: 4 });
    student = gw.registry.get("pg-student") as LanguageModel;
  });
  after(() => gw.close());

  const getProof = async (id: string, wait = 0): Promise<{ status: number; record: WireProof }> => {
    const res = await fetch(`${gw.url}/v1/proofs/${id}${wait ? `?wait=${wait}` : ""}`);
    return { status: res.status, record: (await res.json()) as WireProof };
  };

  /** Takes pg-student's only batch slot: every generation waits (its record `generating`) until `leave`. */
  const holdSlot = (): Promise<BatchSlot> => student.batcher.join();

  /** Opens a chat stream and reads up to its first event (the role chunk, sent once the record exists). */
  async function openStream(signal?: AbortSignal) {
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        model: "pg-student",
        messages: [{ role: "user", content: "Ahoy" }],
        max_tokens: 2,
        stream: true,
      }),
      signal,
    });
    assert.equal(res.status, 200);
    const id = res.headers.get("x-proof-id");
    assert.ok(id);
    const reader = res.body!.getReader();
    let text = "";
    while (!text.includes("\n\n")) {
      const { value, done } = await reader.read();
      assert.ok(!done, "the stream ended before its first event");
      text += Buffer.from(value).toString();
    }
    assert.match(text, /^data: \{.*"role":"assistant"/);
    return { id, reader, text };
  }

  it("a streamed answer's X-Proof-Id answers generating while the stream is open, then queued and proved", async () => {
    const slot = await holdSlot();
    const { id, reader } = await openStream();
    const { status, record } = await getProof(id);
    assert.equal(status, 200);
    assert.equal(record.status, "generating");
    assert.deepEqual(record.output, { choices: [] });
    assert.deepEqual(record.steps, []);
    const request = record.request as GenerationProofRequest;
    assert.equal(request.max_tokens, 2);
    assert.equal(request.nonces.length, 1, "the request, salt and nonces are committed before anything is generated");
    // ?wait= waits through generating: it is not final
    const started = Date.now();
    assert.equal((await getProof(id, 1)).record.status, "generating");
    // a lower bound only: a loaded machine answers later, never sooner
    assert.ok(Date.now() - started >= 950, "wait answered before its time with a record still generating");

    slot.leave();
    let rest = "";
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read())
      rest += Buffer.from(chunk.value).toString();
    assert.ok(rest.endsWith("data: [DONE]\n\n"));
    const last = JSON.parse(rest.split("\n\n").at(-3)!.slice("data: ".length)) as {
      proof: { id: string; status: string };
    };
    assert.deepEqual([last.proof.id, last.proof.status], [id, "queued"]);
    const proved = await settledProof(gw.url, id, ["proved", "failed"]);
    assert.equal(proved.status, "proved", proved.error ?? "");
    assert.equal(proved.steps.length, 2);
    assert.equal(
      (proved.request as GenerationProofRequest).salt,
      request.salt,
      "the record keeps the request it was opened with",
    );
  });

  it("a client that aborts mid-stream leaves a failed record with the reason, never a dangling id", async () => {
    const slot = await holdSlot();
    try {
      const abort = new AbortController();
      const { id } = await openStream(abort.signal);
      assert.equal((await getProof(id)).record.status, "generating");
      abort.abort();
      const record = await settledProof(gw.url, id, ["failed", "proved"]);
      assert.equal(record.status, "failed");
      assert.match(
        record.error!,
        /cut off before it was complete \(client disconnected\); nothing was served in full to prove/,
      );
      assert.deepEqual(record.steps, []);
    } finally {
      slot.leave();
    }
  });

  it("a non-streamed answer's record exists while it is generated", async () => {
    const slot = await holdSlot();
    const answer = postJson(`${gw.url}/v1/completions`, { model: "pg-student", prompt: "The sea", max_tokens: 1 });
    const open = await until(
      async () => (await gw.proofs.store.list({ status: "generating" })).data,
      (records) => records.length > 0,
      {
        what: "a generating record while the answer is held",
      },
    );
    assert.equal(open.length, 1);
    slot.leave();
    const res = await answer;
    assert.equal(res.status, 200);
    const body = (await res.json()) as { proof: { id: string; status: string } };
    assert.deepEqual([body.proof.id, body.proof.status], [open[0]!.id, "queued"]);
    assert.equal(res.headers.get("x-proof-id"), open[0]!.id);
  });

  it("a request refused for want of batch slots is refused before its record: no failed record, no id", async () => {
    const slot = await holdSlot();
    try {
      const before = (await gw.proofs.store.list({ limit: 100 })).data.length;
      // one slot held, four waiting places: five choices cannot be admitted
      const res = await postJson(`${gw.url}/v1/completions`, {
        model: "pg-student",
        prompt: "The sea",
        n: 5,
        max_tokens: 1,
      });
      assert.equal(res.status, 429);
      assert.equal(((await res.json()) as { error: { code: string } }).error.code, "overloaded");
      assert.equal(res.headers.get("x-proof-id"), null);
      assert.equal((await gw.proofs.store.list({ limit: 100 })).data.length, before);
    } finally {
      slot.leave();
    }
  });

  it("a generation that fails mid-way ends failed with its error; an unproven request has no record", async () => {
    const proofId = newId("proof");
    const plan = {
      maxTokens: 3,
      temperature: 0,
      topP: 1,
      n: 1,
      seed: 1,
      stop: [],
      stream: false,
      includeUsage: false,
      proofSteps: 3,
    };
    await assert.rejects(
      provenGeneration(
        {
          scheduler: gw.proofs.scheduler,
          proofId,
          model: student,
          endpoint: "/v1/completions",
          prompts: [[1, 2]],
          plan,
          submit: false,
        },
        async () => {
          assert.equal((await getProof(proofId)).record.status, "generating");
          throw new Error("the model's session failed");
        },
      ),
      /the model's session failed/,
    );
    const { record } = await getProof(proofId);
    assert.equal(record.status, "failed");
    assert.equal(record.error, "not proven: the generation failed before it was complete (the model's session failed)");

    const before = (await gw.proofs.store.list({ limit: 100 })).data.length;
    const res = await postJson(`${gw.url}/v1/completions`, {
      model: "pg-student",
      prompt: "The sea",
      max_tokens: 1,
      proof: false,
    });
    assert.equal(res.status, 200);
    assert.equal((await gw.proofs.store.list({ limit: 100 })).data.length, before);
  });
});
