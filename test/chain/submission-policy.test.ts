/**
 * The submitter's units without a chain: reverts read by ethers (a custom error decoded by the ABIs
 * given, a mined revert without a reason), the policy after a failure from the chain's state, and the
 * retry schedule's backoff on an injected clock. The end-to-end paths (a front-runner, an RPC outage,
 * a tampered proof) are test/chain/gateway-chain*.test.ts and rpc-outage.test.ts.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { AbiCoder, makeError, type Log } from "ethers";
import { InferenceOracle__factory, InferenceRegistry__factory } from "../../src/chain/bindings/index.js";
import { RetrySchedule } from "../../src/chain/retry-schedule.js";
import { afterFailure, isRevert, MAX_UNEXPLAINED_REVERTS, sendFailure } from "../../src/chain/submission-policy.js";
import { isProofgateError } from "../../src/core/errors.js";

const registry = InferenceRegistry__factory.createInterface();
const oracle = InferenceOracle__factory.createInterface();
const KEY = `0x${"ab".repeat(32)}`;
const TX = { to: `0x${"11".repeat(20)}`, data: oracle.encodeFunctionData("refund", [7n]) };

/** A failed estimate as the provider reports it: a custom error left undecoded, its data kept. */
const estimateReverted = (data: string) => AbiCoder.getBuiltinCallException("estimateGas", TX, data);
/** A mined transaction that reverted: no data, no reason. */
const minedReverted = () =>
  makeError("transaction execution reverted", "CALL_EXCEPTION", {
    action: "sendTransaction",
    data: null,
    reason: null,
    invocation: null,
    revert: null,
    transaction: TX,
    receipt: undefined as never,
  });
const LOG = { transactionHash: `0x${"22".repeat(32)}` } as Log;

test("a custom error from an estimate is decoded by the ABIs given, the registry's too for the oracle; its reason stands", () => {
  const err = sendFailure(
    estimateReverted(registry.encodeErrorResult("InvalidProof", [KEY])),
    [oracle, registry],
    true,
  );
  assert.ok(isRevert(err));
  assert.equal(err.message, `reverted on-chain: InvalidProof(${KEY})`);
  assert.equal(err.retryable, false, "the contract named why on the current state");
});

test("AlreadyRecorded, and any mined revert, may be explained by the chain: retryable", () => {
  const already = sendFailure(
    estimateReverted(registry.encodeErrorResult("AlreadyRecorded", [KEY, 5n])),
    [registry],
    true,
  );
  assert.ok(isRevert(already) && already.retryable);
  const mined = sendFailure(minedReverted(), [registry], false);
  assert.ok(isRevert(mined) && mined.retryable);
  assert.equal(mined.message, "reverted on-chain: transaction execution reverted");
  const unknown = sendFailure(estimateReverted(oracle.encodeErrorResult("TransferFailed", [])), [registry], true);
  assert.ok(isRevert(unknown) && unknown.retryable, "an error no ABI given knows says no why");
});

test("an RPC failure is not a revert and stays as it is", () => {
  const rpc = new Error("connect ECONNREFUSED");
  assert.equal(sendFailure(rpc, [registry], true), rpc);
  assert.equal(isRevert(rpc), false);
});

test("after a failure the chain's state decides: recorded is taken, a conflict fails, absent after an RPC failure backs off", () => {
  const revert = sendFailure(minedReverted(), [registry], false) as Error;
  const rpc = new Error("timeout");
  assert.deepEqual(afterFailure(revert, { onChain: { state: "recorded", log: LOG } }, 0), { action: "take", log: LOG });
  assert.deepEqual(afterFailure(rpc, { onChain: { state: "conflict", reason: "another output" } }, 0), {
    action: "fail",
    reason: "another output",
  });
  assert.deepEqual(afterFailure(rpc, { onChain: { state: "absent" } }, 0), { action: "backoff", err: rpc });
  const lookup = new Error("the RPC is down");
  assert.deepEqual(
    afterFailure(revert, { error: lookup }, 0),
    { action: "backoff", err: lookup },
    "a revert is not taken at face value",
  );
  assert.deepEqual(afterFailure(rpc, { error: lookup }, 0), { action: "backoff", err: rpc });
});

test("a revert the chain does not explain: tried again at once, failed after MAX_UNEXPLAINED_REVERTS in a row; a standing reason fails at once", () => {
  const mined = sendFailure(minedReverted(), [registry], false) as Error;
  const absent = { onChain: { state: "absent" } } as const;
  assert.deepEqual(afterFailure(mined, absent, 0), { action: "again", reverts: 1 });
  assert.deepEqual(afterFailure(mined, absent, MAX_UNEXPLAINED_REVERTS - 2), {
    action: "again",
    reverts: MAX_UNEXPLAINED_REVERTS - 1,
  });
  const last = afterFailure(mined, absent, MAX_UNEXPLAINED_REVERTS - 1);
  assert.equal(last.action, "fail");
  assert.match(
    (last as { reason: string }).reason,
    new RegExp(`\\(${MAX_UNEXPLAINED_REVERTS} reverts in a row\\); the registry holds nothing of this record$`),
  );
  const invalid = sendFailure(
    estimateReverted(registry.encodeErrorResult("InvalidProof", [KEY])),
    [registry],
    true,
  ) as Error;
  assert.deepEqual(afterFailure(invalid, absent, 0), {
    action: "fail",
    reason: `reverted on-chain: InvalidProof(${KEY}); the registry holds nothing of this record`,
  });
  assert.ok(isProofgateError(invalid, "conflict"));
});

test("the retry schedule doubles its backoff up to 30 s, keeps the reverts counted, and a retry at once restarts the backoff", () => {
  let now = 1_000;
  const retries = new RetrySchedule(500, () => now);
  assert.deepEqual(
    [1, 2, 3, 4, 5, 6, 7, 8].map(() => retries.backoff("a")),
    [500, 1000, 2000, 4000, 8000, 16000, 30000, 30000],
  );
  assert.ok(retries.isWaiting("a"));
  now += 30_000;
  assert.equal(retries.isWaiting("a"), false);
  retries.again("a", 2);
  assert.equal(retries.reverts("a"), 2);
  assert.equal(retries.isWaiting("a"), false, "at once");
  assert.equal(retries.backoff("a"), 500);
  assert.equal(retries.reverts("a"), 2, "a backoff keeps the count");
  retries.clear("a");
  assert.equal(retries.has("a"), false);
  assert.equal(retries.size, 0);
});
