/**
 * No master key over verification, on a real anvil deployed as the gateway deploys: the timelock owns
 * the registry and the oracle; the gateway's key (its proposer) can only announce a change and wait out
 * the delay in public; the oracle's Poseidon hashers have no setter at all; ownership moves in two
 * steps; and a model added to an existing deployment is registered through the timelock.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Interface, id as keccakText, type Contract } from "ethers";
import { pino } from "pino";
import { InferenceRegistryKind } from "../../src/chain/bindings/enums.js";
import {
  InferenceOracle__factory,
  InferenceRegistry__factory,
  type InferenceOracle,
  type InferenceRegistry,
} from "../../src/chain/bindings/index.js";
import { contract } from "../../src/chain/contract-build.js";
import { deployContracts, deploymentFile } from "../../src/chain/deployment.js";
import { MANIFEST_FILE } from "../../src/model/circuit-manifest.js";
import { randomSalt } from "../../src/core/request-binding.js";
import { CompiledCatalog } from "../../src/prover/compiled-catalog.js";
import {
  eventOf,
  eventsOf,
  mined,
  openTestChain,
  revertsInside,
  revertsWith,
  SPAM_DIR,
  TIMELOCK_DELAY_S,
  type TestChain,
} from "./chain.fixture.js";

const FEE = 10n ** 15n;

let c: TestChain;
let timelock: Contract;
/** The registry and the oracle through their typed bindings: struct reads by field name. */
let registry: InferenceRegistry;
let oracle: InferenceOracle;

before(async () => {
  c = await openTestChain({ feeWei: FEE, timeoutS: 600 });
  timelock = c.timelock;
  registry = InferenceRegistry__factory.connect(c.deployment.registry, c.chain.provider);
  oracle = InferenceOracle__factory.connect(c.deployment.oracle, c.chain.provider);
});

after(async () => {
  await c?.close();
});

async function advance(seconds: number): Promise<void> {
  await c.chain.provider.send("evm_increaseTime", [seconds]);
  await c.chain.provider.send("evm_mine", []);
}

/** Functions that change state, by contract: what anyone, owner included, can ever do to it. */
function writers(name: string): string[] {
  return contract(c.artifact, name)
    .abi.filter((f) => f.type === "function" && f.stateMutability !== "view" && f.stateMutability !== "pure")
    .map((f) => String(f.name))
    .sort();
}

test("deployed: the timelock owns the registry and the oracle, its delay and proposer fixed; the deployer owns nothing", async () => {
  assert.equal(c.deployment.timelock.min_delay_s, TIMELOCK_DELAY_S);
  assert.equal(await timelock.minDelay(), BigInt(TIMELOCK_DELAY_S));
  assert.equal(await timelock.proposer(), c.chain.address);
  for (const owned of [c.registry, c.oracle]) {
    assert.equal(await owned.owner(), c.deployment.timelock.address);
    assert.equal(await owned.pendingOwner(), "0x0000000000000000000000000000000000000000");
  }
  // what can change at all: no hasher setter on the oracle, no delay or proposer setter on the timelock
  assert.deepEqual(writers("InferenceOracle"), [
    "acceptOwnership",
    "fulfill",
    "refund",
    "requestInference",
    "setService",
    "transferOwnership",
  ]);
  assert.deepEqual(writers("InferenceRegistry"), [
    "acceptOwnership",
    "recordTraces",
    "registerModel",
    "transferOwnership",
    "verifyAndRecord",
  ]);
  assert.deepEqual(writers("Timelock"), ["acceptOwnership", "cancel", "execute", "schedule"]);
  // by position: the struct's field `at` is shadowed by Array.prototype.at on ethers' Result
  assert.equal((await oracle.hashers(7))[0], c.deployment.hashers["7"]);
});

test("a swapped hasher is impossible: no setter, neither directly nor through the timelock after its delay", async () => {
  const setHasher = new Interface(["function setHasher(uint256 inputs, address at)"]).encodeFunctionData("setHasher", [
    7,
    c.secondAddress,
  ]);
  await assert.rejects(
    c.chain.signer
      .sendTransaction({ to: c.deployment.oracle, data: setHasher, gasLimit: 100_000n })
      .then((tx) => tx.wait()),
  );
  c.chain.signer.reset();
  const salt = randomSalt();
  await mined(timelock.schedule(c.deployment.oracle, 0, setHasher, salt));
  await advance(TIMELOCK_DELAY_S);
  await revertsInside(timelock.execute(c.deployment.oracle, 0, setHasher, salt), null);
  assert.equal((await oracle.hashers(7))[0], c.deployment.hashers["7"], "the hasher is the one deployed");
});

test("a rule change waits out the delay in public: CallScheduled with the exact call, NotReady before, CallExecuted after", async () => {
  const data = c.oracle.interface.encodeFunctionData("setService", [c.spamKey, true, 2n * FEE, 7n]);
  const salt = randomSalt();
  const id = await timelock.hashCall(c.deployment.oracle, 0, data, salt);
  const asSecond = timelock.connect(c.second) as Contract;
  await revertsWith(asSecond.schedule(c.deployment.oracle, 0, data, salt), "NotProposer", [c.secondAddress]);
  const scheduled = await mined(timelock.schedule(c.deployment.oracle, 0, data, salt));
  const block = await c.chain.provider.getBlock(scheduled.blockNumber);
  const readyAt = BigInt(block!.timestamp + TIMELOCK_DELAY_S);
  assert.deepEqual(
    [...eventOf(scheduled, timelock, "CallScheduled").args],
    [id, c.deployment.oracle, 0n, data, salt, readyAt],
  );
  assert.equal(await timelock.readyAt(id), readyAt);
  await revertsWith(timelock.schedule(c.deployment.oracle, 0, data, salt), "AlreadyScheduled", [id]);

  await revertsWith(timelock.execute(c.deployment.oracle, 0, data, salt), "NotReady", [id, readyAt]);
  await advance(TIMELOCK_DELAY_S - 60);
  await revertsWith(timelock.execute(c.deployment.oracle, 0, data, salt), "NotReady", [id, readyAt]);
  assert.deepEqual([...(await c.oracle.services(c.spamKey))], [true, FEE, 0n], "nothing changed yet");
  await advance(60);
  await revertsWith(asSecond.execute(c.deployment.oracle, 0, data, salt), "NotProposer", [c.secondAddress]);
  await revertsWith(timelock.execute(c.deployment.oracle, 0, data, salt, { value: 1n }), "WrongValue", [1n, 0n]);
  const executed = await mined(timelock.execute(c.deployment.oracle, 0, data, salt));
  assert.deepEqual([...eventOf(executed, timelock, "CallExecuted").args], [id, c.deployment.oracle, 0n, data]);
  assert.deepEqual([...eventOf(executed, c.oracle, "ServiceSet").args], [c.spamKey, true, 2n * FEE, 7n]);
  assert.deepEqual([...(await c.oracle.services(c.spamKey))], [true, 2n * FEE, 7n]);
  await revertsWith(timelock.execute(c.deployment.oracle, 0, data, salt), "NotScheduled", [id]);
  await c.governed(c.oracle, "setService", [c.spamKey, true, FEE, 0n]);
});

test("a scheduled change can be cancelled (by the proposer), and then never runs", async () => {
  const data = c.oracle.interface.encodeFunctionData("setService", [c.spamKey, false, 0n, 0n]);
  const salt = randomSalt();
  const id = await timelock.hashCall(c.deployment.oracle, 0, data, salt);
  await mined(timelock.schedule(c.deployment.oracle, 0, data, salt));
  await revertsWith((timelock.connect(c.second) as Contract).cancel(id), "NotProposer", [c.secondAddress]);
  assert.deepEqual([...eventOf(await mined(timelock.cancel(id)), timelock, "Cancelled").args], [id]);
  await revertsWith(timelock.cancel(id), "NotScheduled", [id]);
  await advance(TIMELOCK_DELAY_S);
  await revertsWith(timelock.execute(c.deployment.oracle, 0, data, salt), "NotScheduled", [id]);
  assert.equal((await oracle.services(c.spamKey)).enabled, true);
});

test("attaching a verifier to an unused key goes through the delay too; the deployer's direct call is refused", async () => {
  const key = keccakText("an unused key");
  const args = [key, c.deployment.registry, 2, 1, 16, 0, 1n];
  await revertsWith(c.registry.registerModel(...args), "NotOwner", []);
  const data = c.registry.interface.encodeFunctionData("registerModel", args);
  const salt = randomSalt();
  const scheduled = await mined(timelock.schedule(c.deployment.registry, 0, data, salt));
  assert.equal(
    eventOf(scheduled, timelock, "CallScheduled").args.data,
    data,
    "anyone watching sees the exact registration coming",
  );
  await revertsWith(timelock.execute(c.deployment.registry, 0, data, salt), "NotReady");
  assert.deepEqual([...(await c.registry.models(key))].slice(0, 2), ["0x0000000000000000000000000000000000000000", 0n]);
});

test("ownership moves in two steps, each through the timelock's delay; the one-step transfer is gone", async () => {
  await revertsWith(c.registry.transferOwnership(c.secondAddress), "NotOwner", []);
  // anyone may ask the timelock to accept, harmlessly: it succeeds only for a transfer to the timelock
  await revertsWith(
    (timelock.connect(c.second) as Contract).acceptOwnership(c.deployment.registry),
    "NotPendingOwner",
    [c.deployment.timelock.address],
  );
  const { executed } = await c.governed(c.registry, "transferOwnership", [c.secondAddress]);
  assert.deepEqual(
    [...eventOf(executed, c.registry, "OwnershipTransferStarted").args],
    [c.deployment.timelock.address, c.secondAddress],
  );
  assert.equal(
    await c.registry.owner(),
    c.deployment.timelock.address,
    "still the timelock until the new owner accepts",
  );
  assert.equal(await c.registry.pendingOwner(), c.secondAddress);
  await revertsWith(c.registry.acceptOwnership(), "NotPendingOwner", [c.chain.address]);
  const accepted = await mined((c.registry.connect(c.second) as Contract).acceptOwnership());
  assert.deepEqual(
    [...eventOf(accepted, c.registry, "OwnershipTransferred").args],
    [c.deployment.timelock.address, c.secondAddress],
  );
  assert.equal(await c.registry.owner(), c.secondAddress);
  assert.equal(await c.registry.pendingOwner(), "0x0000000000000000000000000000000000000000");
  // hand it back to the timelock: named by the owner, accepted through the timelock by anyone
  await mined((c.registry.connect(c.second) as Contract).transferOwnership(c.deployment.timelock.address));
  const back = await mined((timelock.connect(c.second) as Contract).acceptOwnership(c.deployment.registry));
  assert.equal(eventsOf(back, c.registry, "OwnershipTransferred").length, 1);
  assert.equal(await c.registry.owner(), c.deployment.timelock.address);
});

test("a model added to an existing deployment: its registration is scheduled at one start and executed at the first start after the delay", async () => {
  // a copy of pg-spam under another identity: a circuit the deployed registry does not know
  const dir = mkdtempSync(join(tmpdir(), "proofgate-extra-model-"));
  try {
    cpSync(SPAM_DIR, dir, { recursive: true });
    const manifest = JSON.parse(readFileSync(join(dir, MANIFEST_FILE), "utf8")) as Record<string, unknown>;
    const key = `0x${"ab".repeat(32)}`;
    writeFileSync(
      join(dir, MANIFEST_FILE),
      JSON.stringify({ ...manifest, model_id: "cd".repeat(32), vkey_hash: "ab".repeat(32) }),
    );
    const catalog = await CompiledCatalog.open({ roots: ["artifacts/models"], dirs: [dir] });
    const lines: string[] = [];
    const logger = pino({ level: "info" }, { write: (line: string) => void lines.push(line) });
    const options = {
      dataDir: c.dataDir,
      fee: { baseWei: FEE, perGasWei: 0n },
      timeoutS: 600,
      timelockDelayS: TIMELOCK_DELAY_S,
      logger,
    };
    const first = await deployContracts(c.chain, c.artifact, catalog, options);
    assert.equal(first.registry, c.deployment.registry, "the same deployment, resumed");
    assert.equal(first.models["cd".repeat(32)], undefined, "not served until registered");
    const pending = first.scheduled["cd".repeat(32)]!;
    assert.equal(pending.calls.length, 2, "registerModel, then setService");
    assert.ok(
      lines.some((l) => /waits on the timelock/.test(l)),
      "the log says why the model is skipped",
    );
    assert.equal((await registry.models(key)).kind, InferenceRegistryKind.Unknown);
    for (const call of pending.calls)
      assert.ok(
        (await timelock.readyAt(await timelock.hashCall(call.target, 0, call.data, call.salt))) > 1n,
        "scheduled",
      );
    // a restart before the delay: nothing new is scheduled, nothing executed
    const again = await deployContracts(c.chain, c.artifact, catalog, options);
    assert.deepEqual(again.scheduled, first.scheduled);
    await advance(TIMELOCK_DELAY_S);
    const done = await deployContracts(c.chain, c.artifact, catalog, options);
    assert.deepEqual(done.models["cd".repeat(32)], { key, verifier: pending.verifier });
    assert.deepEqual(done.scheduled, {});
    assert.deepEqual([...(await c.registry.models(key))].slice(0, 2), [pending.verifier, 2n]);
    assert.deepEqual([...(await c.oracle.services(key))], [true, FEE, 0n]);
    assert.equal(
      JSON.parse(readFileSync(deploymentFile(c.dataDir, c.chain.chainId), "utf8")).models["cd".repeat(32)].verifier,
      pending.verifier,
      "recorded",
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
