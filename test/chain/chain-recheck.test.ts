/**
 * Chain state is never assumed. The embedded anvil keeps its state in the data folder (saved every
 * few seconds and at exit), so a restarted gateway finds its records still on-chain; and at every
 * start the records marked `verified` are checked against the chain it is connected to: a record the
 * chain does not hold (a fresh chain, a forged or lost transaction) goes back to `proved` and ends
 * verified again, on that chain; one recorded by another transaction names that one; records of
 * another chain id are left alone.
 */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Contract, Wallet, type InterfaceAbi } from "ethers";
import { pino } from "pino";
import { ANVIL_DEV_KEY, startAnvil } from "../../src/chain/anvil.js";
import { recheckVerified } from "../../src/chain/chain-recheck.js";
import { openChain } from "../../src/chain/chain-connection.js";
import { contract, loadContracts } from "../../src/chain/contract-build.js";
import { releaseSnarkWorkers } from "../../src/snark/snark-workers.js";
import { ANVIL_STATE_FILE, loadConfig } from "../../src/config/config.js";
import { newProofRecord, type ProofChainReceipt, type WireProof } from "../../src/core/proof-record.js";
import type { InferenceProofRequest } from "../../src/prover/proof-request.js";
import { prove, randomNonce } from "../../src/prover/prove.js";
import type { ProofStore } from "../../src/store/proof-store.js";
import {
  postJson,
  readProof,
  startChainGateway,
  until,
  waitForProof,
  type ChainGateway,
} from "./gateway-chain.fixture.js";

const HAM = "Hi Bob, are we still meeting for lunch tomorrow at noon? Thanks, Alice";

after(releaseSnarkWorkers);

describe("the embedded chain's state file", () => {
  const dir = mkdtempSync(join(tmpdir(), "proofgate-anvil-state-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("defaults to the data folder; PROOFGATE_ANVIL_STATE names another file, or none for a fresh chain", () => {
    assert.equal(loadConfig({ PROOFGATE_DATA_DIR: dir }).anvilStatePath, join(dir, ANVIL_STATE_FILE));
    assert.equal(
      loadConfig({ PROOFGATE_DATA_DIR: dir, PROOFGATE_ANVIL_STATE: join(dir, "x.json") }).anvilStatePath,
      join(dir, "x.json"),
    );
    assert.equal(loadConfig({ PROOFGATE_DATA_DIR: dir, PROOFGATE_ANVIL_STATE: "none" }).anvilStatePath, null);
  });

  it("is saved while anvil runs: a kill -9 loses at most the last interval", async () => {
    const statePath = join(dir, "deep", "folder", "state.json");
    const anvil = await startAnvil({ statePath, stateIntervalS: 1 });
    const provider = (await openChain(
      loadConfig({ RPC_URL: anvil.url, PRIVATE_KEY: ANVIL_DEV_KEY }),
      pino({ level: "silent" }),
    ))!;
    const to = Wallet.createRandom().address;
    const tx = await provider.signer.sendTransaction({ to, value: 12_345n });
    await tx.wait();
    // a periodic dump that holds the transfer: its recipient and its transaction
    const dumped = () =>
      existsSync(statePath) &&
      [to.slice(2), tx.hash.slice(2)].every((hex) =>
        readFileSync(statePath, "utf8").toLowerCase().includes(hex.toLowerCase()),
      );
    await until(dumped, Boolean, { what: "a state dump holding the transfer" });
    await provider.close();
    process.kill(anvil.pid, "SIGKILL");
    await anvil.stop();
    const again = await startAnvil({ statePath });
    try {
      const chain = (await openChain(
        loadConfig({ RPC_URL: again.url, PRIVATE_KEY: ANVIL_DEV_KEY }),
        pino({ level: "silent" }),
      ))!;
      assert.equal(await chain.provider.getBalance(to), 12_345n);
      assert.equal((await chain.provider.getTransactionReceipt(tx.hash))?.status, 1, "the receipt survived the kill");
      await chain.close();
    } finally {
      await again.stop();
    }
  });

  it("an anvil left running on the state file (its gateway was killed) is stopped first, saving what it holds", async () => {
    const statePath = join(dir, "orphan", "state.json");
    // a long interval: only the orphan's exit dump can carry the transfer
    const orphan = await startAnvil({ statePath, stateIntervalS: 3600 });
    const chain = (await openChain(
      loadConfig({ RPC_URL: orphan.url, PRIVATE_KEY: ANVIL_DEV_KEY }),
      pino({ level: "silent" }),
    ))!;
    const to = Wallet.createRandom().address;
    await (await chain.signer.sendTransaction({ to, value: 777n })).wait();
    await chain.close();
    const next = await startAnvil({ statePath });
    try {
      const again = (await openChain(
        loadConfig({ RPC_URL: next.url, PRIVATE_KEY: ANVIL_DEV_KEY }),
        pino({ level: "silent" }),
      ))!;
      assert.equal(
        await again.provider.getBalance(to),
        777n,
        "the orphan saved its chain when stopped, and the new anvil loaded it",
      );
      await again.close();
    } finally {
      await next.stop();
      await orphan.stop();
    }
    assert.equal(existsSync(`${statePath}.pid`), false, "a stopped anvil leaves no pid file");
  });

  it("a state file anvil cannot read fails the start, naming the file and the ways out", async () => {
    const dataDir = join(dir, "broken");
    const config = loadConfig({ PROOFGATE_DATA_DIR: dataDir });
    await startAnvil({ statePath: config.anvilStatePath! }).then((a) => a.stop()); // creates the folder
    writeFileSync(config.anvilStatePath!, '{"block": ');
    await assert.rejects(openChain(config, pino({ level: "silent" })), (err: Error) => {
      assert.match(err.message, /anvil did not start/);
      assert.ok(err.message.includes(config.anvilStatePath!), err.message);
      assert.match(err.message, /PROOFGATE_ANVIL_STATE=none/);
      return true;
    });
  });
});

/** A `verified` record made by hand, as a submitter would leave it. */
async function storeVerifiedRecord(
  store: ProofStore,
  base: WireProof,
  proved: { publicSignals: string[]; proof: unknown; nonce?: bigint },
  chain: ProofChainReceipt,
  submit = true,
): Promise<string> {
  const request = {
    ...(base.request as InferenceProofRequest),
    ...(proved.nonce === undefined ? {} : { nonce: proved.nonce.toString() }),
    submit,
  };
  const record = await store.create(
    newProofRecord({ model: base.model, request, output: base.output, vkeyHash: base.vkey_hash }),
  );
  assert.ok(await store.transition(record.id, "queued", "proving", { prover: "test" }));
  assert.ok(
    await store.transition(record.id, "proving", "proved", {
      publicSignals: proved.publicSignals,
      proof: proved.proof,
    }),
  );
  assert.ok(
    await store.transition(record.id, "proved", "submitted", { chain: { ...chain, blockNumber: null, gasUsed: null } }),
  );
  assert.ok(await store.transition(record.id, "submitted", "verified", { chain }));
  return record.id;
}

const FAKE_TX = `0x${"de".repeat(32)}`;
const LOST_TX = `0x${"ad".repeat(32)}`;

describe("a restarted gateway re-checks its verified records against the chain", () => {
  const dataDir = mkdtempSync(join(tmpdir(), "proofgate-recheck-"));
  let gw: ChainGateway | undefined;
  after(async () => {
    await gw?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });
  /** Records verified in the first run: an inference and a completion. */
  let first: WireProof[] = [];
  let otherChain: string;

  const recheckLog = (
    g: ChainGateway,
  ): { checked: number; held: number; moved: number; repointed: number; unchecked: number } => {
    const line = g.logs.find((l) => l.includes("re-checked"));
    assert.ok(line, "the re-check is logged");
    return JSON.parse(line) as { checked: number; held: number; moved: number; repointed: number; unchecked: number };
  };

  async function assertOnChain(g: ChainGateway, record: WireProof): Promise<void> {
    const { provider } = g.chain.connection;
    const receipt = await provider.getTransactionReceipt(record.chain!.tx_hash);
    assert.ok(receipt, `transaction ${record.chain!.tx_hash} of ${record.id} is on the chain`);
    assert.equal(receipt.status, 1);
    assert.equal(String(receipt.blockNumber), record.chain!.block_number);
    assert.equal(record.chain!.submitted_by, receipt.from);
    const registry = new Contract(
      g.chain.deployment.registry,
      contract(await loadContracts(), "InferenceRegistry").abi as InterfaceAbi,
      provider,
    );
    const key = g.chain.deployment.models[(record.request as InferenceProofRequest).circuit]!.key;
    if (record.steps.length > 0) {
      assert.notEqual(
        await registry.traceBlock(
          key,
          record.chain!.input_commitment,
          receipt.logs.map((l) => registry.interface.parseLog(l)).find((e) => e?.name === "TraceVerified")!.args[2],
        ),
        0n,
      );
    } else {
      const [verified] = (await registry.inference(key, record.chain!.input_commitment)) as [boolean];
      assert.equal(verified, true, `the registry holds ${record.id}`);
    }
  }

  it("first run: an inference and a completion end verified on the embedded chain, its state saved in the data folder", async () => {
    gw = await startChainGateway({ dataDir });
    assert.deepEqual(recheckLog(gw), { ...recheckLog(gw), checked: 0, moved: 0 });
    const inference = await postJson(`${gw.url}/v1/inferences`, { model: "pg-spam", input: HAM });
    const completion = await gw.client.completions.create({
      model: "pg-student",
      prompt: "The sea",
      temperature: 0,
      max_tokens: 2,
    });
    for (const id of [
      (inference.body as { proof: { id: string } }).proof.id,
      (completion as unknown as { proof: { id: string } }).proof.id,
    ]) {
      const record = await waitForProof(gw.url, id);
      assert.equal(record.status, "verified", record.error ?? "");
      first.push(record);
    }
    // a record of another chain: this gateway cannot see that chain, and leaves the record alone
    otherChain = await storeVerifiedRecord(
      gw.proofs.store,
      first[0]!,
      { publicSignals: first[0]!.public_signals!, proof: first[0]!.proof },
      {
        chainId: 8453,
        contract: gw.chain.deployment.registry,
        txHash: FAKE_TX,
        blockNumber: 5n,
        gasUsed: 1n,
        submittedBy: null,
      },
    );
    await gw.close();
    gw = undefined;
    assert.ok(existsSync(join(dataDir, ANVIL_STATE_FILE)), "anvil saved its state in the data folder");
  });

  it("restart on the saved state: the records are still on-chain, the re-check keeps them; a forged verified record goes back and ends truly verified", async () => {
    await gw?.close(); // left open only by a failed step before
    gw = await startChainGateway({ dataDir });
    assert.ok(
      gw.logs.some((l) => l.includes("contracts already deployed")),
      "the same contracts, from the saved chain",
    );
    assert.deepEqual(recheckLog(gw), { ...recheckLog(gw), checked: 2, held: 2, moved: 0, repointed: 0, unchecked: 0 });
    for (const before of first) {
      const now = await readProof(gw.url, before.id);
      assert.equal(now.status, "verified");
      assert.deepEqual(now.chain, before.chain);
      await assertOnChain(gw, now);
    }

    // forged: records claiming transactions this chain never had. One proof is on-chain under another
    // transaction (the re-check names that one); the other is nowhere (it goes back and is submitted).
    const base = first[0]!;
    const stale = {
      chainId: 31337,
      contract: gw.chain.deployment.registry,
      txHash: FAKE_TX,
      blockNumber: 3n,
      gasUsed: 1n,
      submittedBy: null,
    };
    const compiled = (await gw.proofs.catalog.get((base.request as InferenceProofRequest).circuit))!;
    const nonce = randomNonce();
    const fresh = await prove(compiled, { sample: (base.request as InferenceProofRequest).sample, nonce });
    const copied = await storeVerifiedRecord(
      gw.proofs.store,
      base,
      { publicSignals: base.public_signals!, proof: base.proof },
      stale,
    );
    const lost = await storeVerifiedRecord(
      gw.proofs.store,
      base,
      { publicSignals: [...fresh.public_signals], proof: fresh.proof, nonce },
      { ...stale, txHash: LOST_TX },
    );
    await gw.close();
    gw = await startChainGateway({ dataDir });
    assert.deepEqual(recheckLog(gw), { ...recheckLog(gw), checked: 4, held: 2, moved: 1, repointed: 1, unchecked: 0 });
    const repointed = await readProof(gw.url, copied);
    assert.equal(repointed.status, "verified");
    assert.equal(repointed.chain!.tx_hash, base.chain!.tx_hash, "names the transaction that really recorded it");
    await assertOnChain(gw, repointed);
    assert.ok(gw.logs.some((l) => l.includes(lost) && l.includes("moved back to proved") && l.includes(LOST_TX)));
    const resubmitted = await waitForProof(gw.url, lost);
    assert.equal(resubmitted.status, "verified", resubmitted.error ?? "");
    assert.notEqual(resubmitted.chain!.tx_hash, LOST_TX);
    assert.equal(resubmitted.error, null);
    await assertOnChain(gw, resubmitted);
    first = [...first, repointed, resubmitted];
    assert.equal(
      (await gw.proofs.store.get(otherChain))!.status,
      "verified",
      "a record of another chain id is left alone",
    );
    await gw.close();
    gw = undefined;
  });

  it("restart on a fresh chain (PROOFGATE_ANVIL_STATE=none): the re-check moves every record back, and each ends verified on the new chain", async () => {
    await gw?.close();
    gw = await startChainGateway({ dataDir, env: { PROOFGATE_ANVIL_STATE: "none" } });
    assert.ok(gw.logs.some((l) => l.includes('"state":"none (a fresh chain)"')));
    assert.ok(
      gw.logs.some((l) => l.includes("contracts deployed")),
      "deployed anew",
    );
    assert.deepEqual(recheckLog(gw), {
      ...recheckLog(gw),
      checked: first.length,
      held: 0,
      moved: first.length,
      repointed: 0,
      unchecked: 0,
    });
    for (const before of first) {
      assert.ok(
        gw.logs.some((l) => l.includes(before.id) && l.includes("moved back to proved")),
        `${before.id} moved back`,
      );
      const record = await waitForProof(gw.url, before.id);
      assert.equal(record.status, "verified", record.error ?? "");
      await assertOnChain(gw, record);
    }
    assert.equal(
      (await gw.proofs.store.get(otherChain))!.status,
      "verified",
      "a record of another chain id is left alone",
    );
  });

  it("a record moved back keeps the reason in error, names no transaction, and leaves verified records of this chain alone", async () => {
    const base = first[0]!;
    const signals = [...base.public_signals!];
    signals[0] = (BigInt(signals[0]!) ^ (1n << 20n)).toString(); // an input commitment the registry does not hold
    // submit: false keeps the submitter off it, so it can be read as the re-check left it
    const id = await storeVerifiedRecord(
      gw!.proofs.store,
      base,
      { publicSignals: signals, proof: base.proof, nonce: randomNonce() },
      {
        chainId: 31337,
        contract: gw!.chain.deployment.registry,
        txHash: FAKE_TX,
        blockNumber: 9n,
        gasUsed: 1n,
        submittedBy: null,
      },
      false,
    );
    const logger = pino({ level: "silent" });
    const result = await recheckVerified({
      store: gw!.proofs.store,
      chain: gw!.chain.connection,
      deployment: gw!.chain.deployment,
      logger,
      pageSize: 2,
    });
    assert.deepEqual(
      result,
      { checked: first.length + 1, held: first.length, moved: 1, repointed: 0, unchecked: 0 },
      "paged two at a time, every record seen once",
    );
    const moved = (await gw!.proofs.store.get(id))!;
    assert.equal(moved.status, "proved");
    assert.equal(moved.chain, null);
    assert.match(
      moved.error ?? "",
      new RegExp(`re-check at start: chain 31337 no longer holds transaction ${FAKE_TX} \\(block 9\\)`),
    );
    for (const record of first) assert.equal((await gw!.proofs.store.get(record.id))!.status, "verified");
  });
});
