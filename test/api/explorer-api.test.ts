/**
 * The JSON the proof explorer reads, end to end on the real gateway: an inference and a completion
 * asked through the `openai` client and proven by an in-process worker, then found again by
 * `GET /v1/proofs?q=`, explained by `GET /v1/proofs/{id}/circuit`, counted by `GET /v1/stats`, and
 * documented in /openapi.json.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { median } from "../../src/core/numbers.js";
import { newProofRecord, type WireProof } from "../../src/core/proof-record.js";
import type { LanguageModel } from "../../src/model/served-model.js";
import type { GenerationProofOutput, GenerationProofRequest, StepOutput } from "../../src/prover/proof-request.js";
import { decodePublicSignals } from "../../src/witness/circuit-input.js";
import { startProvingTestGateway, type ProvingTestGateway } from "./gateway-fixture.js";
import { settledProof } from "../fixtures/until.js";

type Json = Record<string, any>;

describe("explorer API: search, circuit, stats", () => {
  let gw: ProvingTestGateway;
  let inference: WireProof;
  let completion: WireProof;
  let labelId: number;
  /** A record of a model this gateway no longer serves, put straight into the store, with a chain receipt. */
  const retired = {
    id: "proof-retired-1",
    txHash: `0x${"aB".repeat(32)}`,
    inputCommitment: "123456789012345678901234567890",
  };

  const get = async (path: string): Promise<{ status: number; body: Json }> => {
    const res = await fetch(`${gw.url}${path}`);
    return { status: res.status, body: (await res.json()) as Json };
  };
  const ok = async (path: string): Promise<Json> => {
    const { status, body } = await get(path);
    assert.equal(status, 200, JSON.stringify(body));
    return body;
  };
  const searchIds = async (query: string): Promise<string[]> =>
    ((await ok(`/v1/proofs?${query}`)).data as WireProof[]).map((p) => p.id);
  const expectError = async (path: string, status: number, code: string, param: string): Promise<void> => {
    const res = await get(path);
    assert.equal(res.status, status, `${path}: ${JSON.stringify(res.body)}`);
    assert.equal(res.body.error.code, code, path);
    assert.equal(res.body.error.param, param, path);
  };

  before(async () => {
    gw = await startProvingTestGateway({ provers: 1, proverConcurrency: 2 });
    const classified = (await gw.client.post("/inferences", {
      body: { model: "pg-spam", input: "Subject: WIN CASH NOW\n\nClick here to claim your free prize money" },
    })) as { output: { label_id: number }; proof: { id: string } };
    labelId = classified.output.label_id;
    const completed = await gw.client.completions.create({ model: "pg-student", prompt: "The sea", max_tokens: 3 });
    const completionId = (completed as unknown as { proof: { id: string } }).proof.id;
    inference = await settledProof(gw.url, classified.proof.id, ["proved", "failed"]);
    completion = await settledProof(gw.url, completionId, ["proved", "failed"]);
    assert.equal(inference.status, "proved", inference.error ?? "");
    assert.equal(completion.status, "proved", completion.error ?? "");
    // final already, so no worker or sweep picks it up
    await gw.proofs.store.create({
      ...newProofRecord({
        id: retired.id,
        model: "retired-model",
        created: 1_600_000_000,
        request: { kind: "inference", circuit: "f".repeat(64), nonce: "1" },
      }),
      status: "failed",
      error: "its circuit is gone",
      chain: {
        chainId: 31337,
        contract: `0x${"11".repeat(20)}`,
        txHash: retired.txHash,
        blockNumber: null,
        gasUsed: null,
        inputCommitment: retired.inputCommitment,
      },
    });
  });
  after(() => gw.close());

  describe("GET /v1/proofs?q=", () => {
    it("finds a record by its id", async () => {
      assert.deepEqual(await searchIds(`q=${inference.id}`), [inference.id]);
      assert.deepEqual(await searchIds(`q=${completion.id}`), [completion.id]);
      assert.deepEqual(await searchIds(`q=${inference.id.slice(0, -1)}`), []);
    });

    it("finds an inference by its public signal, in decimal or 0x-hex", async () => {
      const claim = inference.public_signals![0]!;
      assert.deepEqual(await searchIds(`q=${claim}`), [inference.id]);
      assert.deepEqual(await searchIds(`q=0x${BigInt(claim).toString(16)}`), [inference.id]);
      assert.deepEqual(await searchIds(`q=0x${BigInt(claim).toString(16).toUpperCase()}`), [inference.id]);
    });

    it("finds a completion by a public signal of one of its steps; q combines with model and status", async () => {
      const state = completion.steps.at(-1)!.public_signals![1]!;
      assert.deepEqual(await searchIds(`q=${state}`), [completion.id]);
      assert.deepEqual(await searchIds(`q=0x${BigInt(state).toString(16)}&model=pg-student&status=proved&limit=1`), [
        completion.id,
      ]);
      assert.deepEqual(await searchIds(`q=${state}&model=pg-spam`), []);
      assert.deepEqual(await searchIds(`q=${state}&status=verified`), []);
    });

    it("finds a record by its transaction hash in any case and by its input commitment", async () => {
      assert.deepEqual(await searchIds(`q=${retired.txHash.toLowerCase()}`), [retired.id]);
      assert.deepEqual(await searchIds(`q=${retired.txHash.toUpperCase()}`), [retired.id]);
      assert.deepEqual(await searchIds(`q=${retired.inputCommitment}`), [retired.id]);
      assert.deepEqual(await searchIds(`q=0x${BigInt(retired.inputCommitment).toString(16)}`), [retired.id]);
      const record = (await ok(`/v1/proofs/${retired.id}`)) as WireProof;
      assert.equal(record.chain?.input_commitment, retired.inputCommitment);
      assert.equal(inference.chain, null);
    });

    it("q outside letters, digits, _ and - (1 to 100 of them), or given twice, is a 400 naming q", async () => {
      for (const q of ["", "a%20b", "%25", "%22", "'", "a.b", "1".repeat(101), "x&q=y"]) {
        await expectError(`/v1/proofs?q=${q}`, 400, "invalid_argument", "q");
      }
      assert.deepEqual(await searchIds(`q=${"1".repeat(100)}`), []);
      assert.deepEqual(await searchIds("q=_"), []);
    });
  });

  describe("GET /v1/proofs/{id}/circuit", () => {
    it("an inference: its circuit, its public signals named and decoded to the served label", async () => {
      const manifest = gw.registry.get("pg-spam").circuit!;
      const body = await ok(`/v1/proofs/${inference.id}/circuit`);
      assert.deepEqual(body, {
        object: "circuit",
        model_id: manifest.model_id,
        vkey_hash: manifest.vkey_hash,
        kind: "classify",
        constraints: manifest.constraints,
        public_signals: manifest.public_signals.map(({ name, meaning }) => ({ name, meaning })),
        layout: {
          model_id_field: manifest.model_id_field,
          output: "argmax",
          classes: 2,
          input: { kind: "bits", size: 1024 },
          packing: manifest.packing,
        },
        featurizer: { type: "hashed-words", buckets: 1024, hash: "fnv1a-32", pattern: "[a-z0-9]+" },
        signals: [{ name: "claim", value: inference.public_signals![0] }],
        decoded: { kind: "classify", label: labelId, claim: inference.public_signals![0] },
        steps: [],
      });
      assert.equal(body.vkey_hash, inference.vkey_hash);
    });

    it("a completion: every step's signals named and decoded to the served tokens", async () => {
      const manifest = (gw.registry.get("pg-student") as LanguageModel).circuit!;
      const body = await ok(`/v1/proofs/${completion.id}/circuit`);
      assert.equal(body.object, "circuit");
      assert.equal(body.model_id, manifest.model_id);
      assert.equal(body.kind, "token-step");
      assert.deepEqual(
        body.public_signals.map((s: Json) => s.name),
        ["state_in", "state_out"],
      );
      assert.equal(body.signals, null);
      assert.equal(body.decoded, null);
      assert.equal(body.featurizer, null);
      // what the page needs to decode the signals and rebuild each step's window itself
      assert.deepEqual(body.layout, {
        model_id_field: manifest.model_id_field,
        output: "argmax",
        classes: manifest.classes,
        input: manifest.input,
        packing: manifest.packing,
      });
      const tokens = (completion.output as GenerationProofOutput).choices[0]!.tokens;
      assert.equal(body.steps.length, completion.steps.length);
      for (const [k, step] of (body.steps as Json[]).entries()) {
        const record = completion.steps.find((s) => s.index === step.index)!;
        assert.deepEqual(step.signals, [
          { name: "state_in", value: record.public_signals![0] },
          { name: "state_out", value: record.public_signals![1] },
        ]);
        const decoded = step.decoded as Json;
        assert.deepEqual(decoded, decodePublicSignals(manifest, record.public_signals!.map(BigInt)));
        assert.equal(decoded.kind, "token-step");
        assert.equal(decoded.next_token, tokens[(record.output as StepOutput).position], `step ${k}`);
        assert.equal(decoded.nonce, (completion.request as GenerationProofRequest).nonces[0]);
      }
    });

    it("is a 404 naming id for an unknown proof or a circuit this gateway does not have", async () => {
      await expectError("/v1/proofs/proof-nope/circuit", 404, "not_found", "id");
      await expectError(`/v1/proofs/${retired.id}/circuit`, 404, "not_found", "id");
    });
  });

  describe("GET /v1/stats", () => {
    it("counts every served model's records by status, with its circuit, and the models it no longer serves", async () => {
      const stats = await ok("/v1/stats");
      assert.equal(stats.object, "stats");
      assert.equal(stats.window, 1000);
      const byModel = new Map((stats.models as Json[]).map((m) => [m.model, m]));
      assert.deepEqual([...byModel.keys()], [...gw.registry.list().map((m) => m.id), "retired-model"]);
      const zero = { total: 0, generating: 0, queued: 0, proving: 0, proved: 0, submitted: 0, verified: 0, failed: 0 };
      assert.deepEqual(byModel.get("pg-spam")!.proofs, { ...zero, total: 1, proved: 1 });
      assert.deepEqual(byModel.get("pg-student")!.proofs, { ...zero, total: 1, proved: 1 });
      assert.deepEqual(byModel.get("pg-teacher"), {
        model: "pg-teacher",
        provable: false,
        circuit: null,
        proofs: zero,
        median_prove_ms: null,
      });
      assert.deepEqual(byModel.get("retired-model"), {
        model: "retired-model",
        provable: false,
        circuit: null,
        proofs: { ...zero, total: 1, failed: 1 },
        median_prove_ms: null,
      });

      const spam = byModel.get("pg-spam")!;
      const manifest = gw.registry.get("pg-spam").circuit!;
      assert.equal(spam.provable, true);
      assert.deepEqual(spam.circuit, {
        model_id: manifest.model_id,
        vkey_hash: manifest.vkey_hash,
        kind: "classify",
        constraints: manifest.constraints,
        public_signals: manifest.public_signals.map(({ name, meaning }) => ({ name, meaning })),
      });
      assert.equal(spam.median_prove_ms, inference.timings.prove);
      assert.equal(byModel.get("pg-student")!.circuit.kind, "token-step");
      assert.equal(byModel.get("pg-student")!.median_prove_ms, completion.timings.prove);
    });

    it("counts workers, with the median of the Groth16 proofs each made", async () => {
      const stats = await ok("/v1/stats");
      // one in-process worker proved everything
      assert.equal(inference.prover, completion.prover);
      const times = [inference.timings.prove!, ...completion.steps.map((s) => s.timings.prove!)];
      assert.deepEqual(stats.workers, [{ prover: inference.prover, proofs: 2, median_prove_ms: median(times) }]);
    });

    it("lists the latency of every record with a total, oldest first", async () => {
      const stats = await ok("/v1/stats");
      const expected = [inference, completion]
        .sort((a, b) => a.created - b.created || (a.id < b.id ? -1 : 1))
        .map((r) => ({ id: r.id, model: r.model, created: r.created, total_ms: r.timings.total }));
      assert.deepEqual(stats.latency, expected);
    });

    it("window covers the newest records only; outside 1..10000 or not an integer is a 400 naming window", async () => {
      const stats = await ok("/v1/stats?window=1");
      assert.equal(stats.window, 1);
      const totals = (stats.models as Json[]).reduce((sum, m) => sum + m.proofs.total, 0);
      assert.equal(totals, 1);
      assert.equal((await ok("/v1/stats?window=10000")).window, 10000);
      for (const window of ["0", "10001", "abc", "1.5", "-1", ""])
        await expectError(`/v1/stats?window=${window}`, 400, "invalid_argument", "window");
    });
  });

  it("/openapi.json documents the new routes, the q and window parameters and the input commitment", async () => {
    const doc = await ok("/openapi.json");
    const ref = (id: string) => ({ $ref: `#/components/schemas/${id}` });
    assert.deepEqual(
      doc.paths["/v1/proofs/{id}/circuit"].get.responses["200"].content["application/json"].schema,
      ref("ProofCircuit"),
    );
    assert.deepEqual(doc.paths["/v1/proofs/{id}/circuit"].get.parameters, [
      { name: "id", in: "path", required: true, schema: { type: "string" } },
    ]);
    assert.deepEqual(doc.paths["/v1/stats"].get.responses["200"].content["application/json"].schema, ref("Stats"));
    const q = (doc.paths["/v1/proofs"].get.parameters as Json[]).find((p) => p.name === "q")!;
    assert.equal(q.in, "query");
    assert.equal(q.required, false);
    assert.equal(q.schema.pattern, "^[0-9A-Za-z_-]{1,100}$");
    assert.match(q.description, /transaction hash/);
    assert.deepEqual(
      (doc.paths["/v1/proofs"].get.parameters as Json[]).map((p) => p.name),
      ["status", "model", "limit", "after", "q"],
    );
    assert.deepEqual(
      (doc.paths["/v1/stats"].get.parameters as Json[]).map((p) => [p.name, p.in]),
      [["window", "query"]],
    );
    assert.deepEqual(
      (doc.paths["/v1/proofs/{id}"].get.parameters as Json[]).map((p) => [p.name, p.in]),
      [
        ["id", "path"],
        ["wait", "query"],
      ],
    );
    for (const id of ["ProofCircuit", "DecodedSignals", "CircuitSummary", "Stats", "ModelStats", "WorkerStats"])
      assert.ok(doc.components.schemas[id], id);
    assert.ok(doc.components.schemas.ProofChain.required.includes("input_commitment"));
  });
});
