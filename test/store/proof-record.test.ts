import { test } from "node:test";
import assert from "node:assert/strict";
import { isProofgateError } from "../../src/core/errors.js";
import {
  ALLOWED_TRANSITIONS,
  PROOF_STATUSES,
  assertTransition,
  fromWireChain,
  newProofRecord,
  toWireChain,
  toWireProof,
  type ProofRecord,
} from "../../src/core/proof-record.js";

test("status machine: the SPEC path and failure are allowed, failed goes nowhere, verified only back to proved (the re-check)", () => {
  for (const [from, to] of [
    ["generating", "queued"],
    ["generating", "failed"],
    ["queued", "proving"],
    ["proving", "proved"],
    ["proved", "submitted"],
    ["submitted", "verified"],
    ["proving", "failed"],
  ] as const) {
    assert.doesNotThrow(() => assertTransition(from, to));
  }
  assert.deepEqual(ALLOWED_TRANSITIONS.verified, ["proved"]);
  // nothing moves back into generating: once its choices are known, a record never is again
  assert.deepEqual(
    PROOF_STATUSES.filter((from) => ALLOWED_TRANSITIONS[from].includes("generating")),
    [],
  );
  assert.equal(newProofRecord({ model: "m", request: {}, status: "generating" }).status, "generating");
  assert.deepEqual(ALLOWED_TRANSITIONS.failed, []);
  for (const from of PROOF_STATUSES) {
    for (const to of PROOF_STATUSES) {
      if (ALLOWED_TRANSITIONS[from].includes(to)) continue;
      assert.throws(
        () => assertTransition(from, to),
        (err) => isProofgateError(err, "conflict") && err.status === 409,
        `${from} → ${to}`,
      );
    }
  }
});

test("toWireProof: SPEC's snake_case record, bigints as decimal strings, internals left out", () => {
  const record: ProofRecord = {
    ...newProofRecord({
      id: "proof-1",
      model: "m",
      created: 1_750_000_000,
      request: { sample: [1] },
      output: { label: "spam" },
      vkeyHash: "0xv",
    }),
    status: "verified",
    publicSignals: ["1"],
    proof: { protocol: "groth16" },
    steps: [
      {
        index: 0,
        status: "proved",
        publicSignals: ["2"],
        proof: { protocol: "groth16" },
        output: 3,
        timings: { prove: 9 },
        prover: "w",
      },
    ],
    timings: { queued: 1, prove: 9 },
    chain: { chainId: 31337, contract: "0xc", txHash: "0xt", blockNumber: 5n, gasUsed: 2n ** 64n },
    prover: "w",
    attempts: 1,
    updatedAtMs: 1,
  };
  assert.deepEqual(toWireProof(record), {
    id: "proof-1",
    object: "proof",
    status: "verified",
    model: "m",
    created: 1_750_000_000,
    request: { sample: [1] },
    output: { label: "spam" },
    public_signals: ["1"],
    proof: { protocol: "groth16" },
    vkey_hash: "0xv",
    steps: [
      {
        index: 0,
        status: "proved",
        public_signals: ["2"],
        proof: { protocol: "groth16" },
        output: 3,
        timings: { prove: 9 },
        prover: "w",
      },
    ],
    timings: { queued: 1, prove: 9 },
    chain: {
      chain_id: 31337,
      contract: "0xc",
      tx_hash: "0xt",
      block_number: "5",
      gas_used: "18446744073709551616",
      input_commitment: null,
      submitted_by: null,
    },
    prover: "w",
    error: null,
  });
  assert.doesNotThrow(() => JSON.stringify(toWireProof(record)));
});

test("newProofRecord: a queued record with fresh id and empty fields", () => {
  const r = newProofRecord({ model: "m", request: null });
  assert.match(r.id, /^proof-[0-9a-f]{24}$/);
  assert.equal(r.status, "queued");
  assert.deepEqual([r.steps, r.timings, r.attempts, r.proof, r.chain], [[], {}, 0, null, null]);
});

test("chain receipts carry the input commitment both ways; one not known reads back left out", () => {
  const receipt = {
    chainId: 1,
    contract: "0xc",
    txHash: "0xt",
    blockNumber: null,
    gasUsed: null,
    inputCommitment: "123",
  };
  assert.equal(toWireChain(receipt)?.input_commitment, "123");
  assert.deepEqual(fromWireChain(toWireChain(receipt)), receipt);
  const { inputCommitment: _, ...unknown } = receipt;
  assert.equal(toWireChain(unknown)?.input_commitment, null);
  assert.deepEqual(fromWireChain(toWireChain(unknown)), unknown);
  assert.deepEqual(fromWireChain(toWireChain({ ...unknown, inputCommitment: null })), unknown);
  // a row stored before the field existed
  assert.deepEqual(fromWireChain({ chain_id: 1, contract: "0xc", tx_hash: "0xt", block_number: "5", gas_used: "6" }), {
    ...unknown,
    blockNumber: 5n,
    gasUsed: 6n,
  });
});

test("chain receipts carry who sent the transaction both ways; one not known reads back left out", () => {
  const receipt = {
    chainId: 1,
    contract: "0xc",
    txHash: "0xt",
    blockNumber: 5n,
    gasUsed: 6n,
    submittedBy: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
  };
  assert.equal(toWireChain(receipt)?.submitted_by, receipt.submittedBy);
  assert.deepEqual(fromWireChain(toWireChain(receipt)), receipt);
  const { submittedBy: _, ...unknown } = receipt;
  assert.equal(toWireChain(unknown)?.submitted_by, null);
  assert.deepEqual(fromWireChain(toWireChain({ ...unknown, submittedBy: null })), unknown);
});
