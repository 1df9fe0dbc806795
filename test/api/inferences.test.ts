import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { argmaxFirst, runIntegerModel } from "../../src/model/integer-model.js";
import type { LanguageModel } from "../../src/model/served-model.js";
import { postJson, startTestGateway, type TestGateway } from "./gateway-fixture.js";

/** The fields these tests read, of an inference or of an error body; `res.json()` is taken on trust. */
interface InferenceReply {
  object: string;
  model: string;
  id: string;
  output: {
    label: string;
    label_id: number;
    probabilities: Record<string, number>;
    logits: number[];
    argmax: number;
    next_token: { id: number };
    top_tokens: { id: number }[];
    context_tokens: number;
  };
  error: { param: string; code: string; type: string; message: string };
}

describe("POST /v1/inferences", () => {
  let gw: TestGateway;
  before(async () => {
    gw = await startTestGateway();
  });
  after(() => gw.close());

  const infer = async (body: unknown) => {
    const res = await postJson(`${gw.url}/v1/inferences`, body);
    return { status: res.status, json: (await res.json()) as InferenceReply };
  };

  it("classifies text with the spam model: label, probabilities, integer logits", async () => {
    const { status, json } = await infer({
      model: "pg-spam",
      input: "Congratulations! You won a FREE prize, click here to claim cash now",
      proof: false,
    });
    assert.equal(status, 200);
    assert.equal(json.object, "inference");
    assert.equal(json.model, "pg-spam");
    assert.match(json.id, /^inf-/);
    const out = json.output;
    assert.ok(["ham", "spam"].includes(out.label));
    assert.equal(out.label, ["ham", "spam"][out.label_id]);
    assert.ok(Math.abs(out.probabilities.ham + out.probabilities.spam - 1) < 1e-9);
    assert.ok(out.logits.every(Number.isInteger));
    assert.equal(out.label_id, argmaxFirst(out.logits));
  });

  it("text to the student: the next token is the integer reference's greedy choice", async () => {
    const text = "It is a truth universally";
    const { status, json } = await infer({ model: "pg-student", input: text, top_tokens: 4 });
    assert.equal(status, 200);
    const model = gw.registry.get("pg-student") as LanguageModel;
    const tail = model.tokenizer.encode(text).slice(-model.contextLength);
    const context = [...new Array<number>(model.contextLength - tail.length).fill(model.tokenizer.eotId), ...tail];
    assert.equal(json.output.next_token.id, argmaxFirst(runIntegerModel(model.integer!, context)));
    assert.equal(json.output.top_tokens.length, 4);
    assert.equal(json.output.top_tokens[0].id, json.output.next_token.id);
    assert.equal(json.output.context_tokens, tail.length);
  });

  it("a tensor for the student returns its ONNX outputs, equal to the integer reference", async () => {
    const model = gw.registry.get("pg-student") as LanguageModel;
    const sample = Array.from({ length: model.contextLength }, (_, i) => (i * 37) % model.tokenizer.vocabSize);
    const { status, json } = await infer({ model: "pg-student", input: sample });
    assert.equal(status, 200);
    assert.deepEqual(json.output.logits, Array.from(runIntegerModel(model.integer!, sample)));
    assert.equal(json.output.argmax, argmaxFirst(json.output.logits));
    const teacher = await infer({ model: "pg-teacher", input: new Array(32).fill(5) });
    assert.equal(teacher.status, 200);
    assert.equal(teacher.json.output.logits.length, model.tokenizer.vocabSize);
  });

  it("a tensor of the wrong shape or values is a 400 naming input", async () => {
    for (const input of [[1, 2, 3], [[1, 2]], new Array(16).fill(100000), new Array(16).fill(0.5)]) {
      const { status, json } = await infer({ model: "pg-student", input });
      assert.equal(status, 400, JSON.stringify(input));
      assert.equal(json.error.param, "input");
      assert.equal(json.error.code, "invalid_argument");
      assert.equal(json.error.type, "invalid_request_error");
    }
    const spam = await infer({ model: "pg-spam", input: new Array(1024).fill(2) });
    assert.equal(spam.status, 400);
    assert.match(spam.json.error.message, /expected an integer in \[0, 1\]/);
  });
});
