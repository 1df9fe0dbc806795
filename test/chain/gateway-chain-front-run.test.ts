/**
 * Front-running, with automine off: a bot watches anvil's pool (`txpool_content`), copies every
 * `verifyAndRecord` / `recordTraces` the gateway sends and resends it from another dev account with a
 * higher fee, then mines. The copy goes first, the gateway's transaction reverts (a mined revert,
 * no reason) and still pays gas; the record must end `verified` with the bot's transaction and
 * `submitted_by` the bot, not `failed`, however many records the bot takes in a row. An oracle
 * fulfilment copied the same way reverts for the bot (its nonce names the gateway as fulfiller), and
 * the record names the gateway's own transaction.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Wallet, solidityPackedKeccak256, type TransactionReceipt, type Interface, type JsonRpcProvider } from "ethers";
import { ANVIL_DEV_KEY } from "../../src/chain/anvil.js";
import { InferenceOracleStatus } from "../../src/chain/bindings/enums.js";
import { oracleProofId } from "../../src/chain/oracle-watcher.js";
import { releaseSnarkWorkers } from "../../src/snark/snark-workers.js";
import type { WireProof } from "../../src/core/proof-record.js";
import type { InferenceProofRequest, StepOutput } from "../../src/prover/proof-request.js";
import {
  chainContracts,
  postJson,
  sleep,
  startChainGateway,
  until,
  waitForProof,
  type ChainContracts,
  type ChainGateway,
} from "./gateway-chain.fixture.js";

/** anvil's second dev account: a user of the contracts. */
const USER_KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
/** anvil's third dev account: the bot. */
const BOT_KEY = "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a";
const TEXTS = [
  "Hi Bob, are we still meeting for lunch tomorrow at noon? Thanks, Alice",
  "Subject: WIN CASH NOW\n\nClick here to claim your free prize money",
  "Can you send me the notes from the meeting yesterday?",
  "Congratulations! You have been selected for a free cruise, call now",
];

after(releaseSnarkWorkers);

interface PoolTx {
  hash: string;
  from: string;
  to: string | null;
  input: string;
  gas: string;
  maxFeePerGas?: string;
  maxPriorityFeePerGas?: string;
}

/** The bot: copies each gateway transaction to `targets` it sees pending, with a higher fee, then mines the block. */
class FrontRunner {
  /** The gateway's transaction hash → the bot's copy. */
  readonly copies = new Map<string, string>();
  /** The contracts copied transactions went to. */
  readonly copiedTo = new Set<string>();
  /** Set: the next `recordTraces` is copied with its first trace only, and then nothing more (this resets). */
  firstTraceOnly: Interface | null = null;
  private copying = true;
  private stopped = false;
  private running: Promise<void> | undefined;
  private nonce = 0;

  constructor(
    private readonly provider: JsonRpcProvider,
    private readonly bot: Wallet,
    private readonly victim: string,
    private readonly targets: readonly string[],
  ) {}

  async start(): Promise<void> {
    this.nonce = await this.provider.getTransactionCount(this.bot.address, "pending");
    this.running = this.loop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.running;
  }

  private async pool(): Promise<PoolTx[]> {
    const content = (await this.provider.send("txpool_content", [])) as {
      pending: Record<string, Record<string, PoolTx>>;
    };
    return Object.values(content.pending).flatMap((byNonce) => Object.values(byNonce));
  }

  /** `recordTraces` calldata cut to its first trace: the proofs and signals of its first `lengths[0]` steps. */
  private firstTrace(registry: Interface, input: string): string {
    const [key, proofs, signals, lengths] = registry.decodeFunctionData("recordTraces", input) as unknown as [
      string,
      bigint[][],
      bigint[],
      bigint[],
    ];
    const steps = Number(lengths[0]);
    return registry.encodeFunctionData("recordTraces", [
      key,
      proofs.slice(0, steps),
      signals.slice(0, 2 * steps),
      [lengths[0]],
    ]);
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      const pending = await this.pool();
      for (const tx of pending) {
        if (
          !this.copying ||
          tx.from.toLowerCase() !== this.victim ||
          !this.targets.includes((tx.to ?? "").toLowerCase()) ||
          this.copies.has(tx.hash)
        )
          continue;
        const tip = BigInt(tx.maxPriorityFeePerGas ?? "1000000000") * 2n + 1_000_000_000n;
        const copy = await this.bot.sendTransaction({
          to: tx.to,
          data: this.firstTraceOnly ? this.firstTrace(this.firstTraceOnly, tx.input) : tx.input,
          gasLimit: BigInt(tx.gas),
          maxPriorityFeePerGas: tip,
          maxFeePerGas: BigInt(tx.maxFeePerGas ?? "0") + tip,
          nonce: this.nonce++,
        });
        this.copies.set(tx.hash, copy.hash);
        this.copiedTo.add(tx.to!.toLowerCase());
        if (this.firstTraceOnly) this.copying = false;
        this.firstTraceOnly = null;
      }
      // the gateway sends its next transaction only once this one is mined: nothing slips in uncopied
      if (pending.length > 0) await this.provider.send("evm_mine", []);
      await sleep(20);
    }
  }
}

describe("a bot copying the gateway's pending transactions (automine off)", () => {
  let gw: ChainGateway;
  let chain: ChainContracts;
  let provider: JsonRpcProvider;
  let bot: Wallet;
  let runner: FrontRunner;
  const gateway = new Wallet(ANVIL_DEV_KEY).address;

  before(async () => {
    gw = await startChainGateway({ env: { PROOFGATE_ANVIL_STATE: "none" } });
    provider = gw.chain.connection.provider;
    chain = chainContracts(gw.chain.deployment, provider);
    bot = new Wallet(BOT_KEY, provider);
    await provider.send("evm_setAutomine", [false]);
    runner = new FrontRunner(
      provider,
      bot,
      gateway.toLowerCase(),
      [gw.chain.deployment.registry, gw.chain.deployment.oracle].map((a) => a.toLowerCase()),
    );
    await runner.start();
  });
  after(async () => {
    await runner?.stop();
    await gw?.close();
  });

  /** The record ends verified by the bot's copy; the gateway's own transaction reverted in the same block, after it. */
  async function assertTakenByBot(record: WireProof): Promise<void> {
    assert.equal(record.status, "verified", `front-run record ended ${record.status}: ${record.error}`);
    assert.equal(record.error, null);
    const own = [...runner.copies].find(([, copy]) => copy === record.chain!.tx_hash);
    assert.ok(
      own,
      `the record names the bot's copy (${record.chain!.tx_hash}), among ${JSON.stringify([...runner.copies])}`,
    );
    assert.equal(record.chain!.submitted_by, bot.address);
    const [ours, theirs] = await Promise.all([
      provider.getTransactionReceipt(own[0]),
      provider.getTransactionReceipt(own[1]),
    ]);
    assert.equal(theirs!.status, 1);
    assert.equal(theirs!.from, bot.address);
    assert.equal(record.chain!.block_number, String(theirs!.blockNumber));
    assert.equal(record.chain!.gas_used, String(theirs!.gasUsed));
    assert.equal(ours!.status, 0, "the gateway's transaction reverted");
    assert.equal(ours!.from, gateway);
    assert.equal(ours!.blockNumber, theirs!.blockNumber);
    assert.ok(ours!.index > theirs!.index, "the copy with the higher fee went first");
    assert.ok(ours!.gasUsed > 0n, "and the gateway paid gas for its revert");
  }

  it("an inference: the gateway's verifyAndRecord reverts, the record ends verified with the bot's transaction", async () => {
    const res = await postJson(`${gw.url}/v1/inferences`, { model: "pg-spam", input: TEXTS[0] });
    assert.equal(res.status, 200, res.text);
    const record = await waitForProof(gw.url, (res.body as { proof: { id: string } }).proof.id);
    await assertTakenByBot(record);
    const key = gw.chain.deployment.models[(record.request as InferenceProofRequest).circuit]!.key;
    const { inputCommitment: commitment } = await chain.registry.decode(key, record.public_signals!);
    const events = await chain.registry.queryFilter(
      chain.registry.filters.InferenceVerified(key, commitment),
      gw.chain.deployment.from_block,
    );
    assert.deepEqual(
      events.map((e) => e.transactionHash),
      [record.chain!.tx_hash],
      "recorded once, by the bot",
    );
    assert.equal(record.chain!.input_commitment, commitment.toString());
    assert.ok(gw.logs.some((l) => l.includes(record.id) && l.includes("recorded on-chain by another transaction")));
  });

  it("a persistent front-runner over several inferences and a completion: every record ends verified by the bot, none failed", async () => {
    const ids: string[] = [];
    for (const input of TEXTS.slice(1)) {
      const res = await postJson(`${gw.url}/v1/inferences`, { model: "pg-spam", input });
      assert.equal(res.status, 200, res.text);
      ids.push((res.body as { proof: { id: string } }).proof.id);
    }
    const completion = await gw.client.completions.create({
      model: "pg-student",
      prompt: "The sea",
      temperature: 0,
      max_tokens: 2,
    });
    ids.push((completion as unknown as { proof: { id: string } }).proof.id);
    const records = [];
    for (const id of ids) records.push(await waitForProof(gw.url, id));
    for (const record of records) await assertTakenByBot(record);
    assert.ok(runner.copies.size >= 5, `${runner.copies.size} transactions copied`);
    const traced = records.at(-1)!;
    assert.ok(traced.steps.length > 0);
    const receipt = (await provider.getTransactionReceipt(traced.chain!.tx_hash))!;
    assert.ok(
      receipt.logs.some((l) => chain.registry.interface.parseLog(l)?.name === "TraceVerified"),
      "the bot's copy recorded the trace",
    );
  });

  it("an oracle fulfilment copied from the pool: the copy reverts (the nonce names the gateway), the gateway's own fulfils and the record names it", async () => {
    const user = new Wallet(USER_KEY, provider);
    const board = chainContracts(gw.chain.deployment, user).board;
    const spamKey =
      gw.chain.deployment.models[
        gw.proofs.catalog.modelIds.find((id) => gw.proofs.catalog.manifest(id)!.kind === "classify")!
      ]!.key;
    const fee = await chain.oracle.fee(spamKey, 500_000);
    const receipt: TransactionReceipt = (await (await board.submit(TEXTS[2], 500_000, { value: fee })).wait())!;
    const [submitted] = await board.queryFilter(board.filters.Submitted(), receipt.blockNumber, receipt.blockNumber);
    const { requestId } = submitted!.args;
    const id = oracleProofId(31337, gw.chain.deployment.oracle, requestId);
    await until(
      () => gw.proofs.store.get(id),
      (r) => r !== null,
      { what: `record ${id}` },
    );
    const record = await waitForProof(gw.url, id);
    assert.equal(record.status, "verified", `front-run oracle record ended ${record.status}: ${record.error}`);
    const fulfilled = (await provider.getTransactionReceipt(record.chain!.tx_hash))!;
    assert.equal(fulfilled.status, 1);
    assert.equal(record.chain!.submitted_by, fulfilled.from);
    assert.ok(
      fulfilled.logs.some((l) => chain.oracle.interface.parseLog(l)?.name === "InferenceFulfilled"),
      "the named transaction fulfilled the request",
    );
    assert.equal((await chain.oracle.requests(requestId)).status, InferenceOracleStatus.Fulfilled);
    assert.ok(runner.copiedTo.has(gw.chain.deployment.oracle.toLowerCase()), "the bot copied the gateway's fulfill");
    // the nonce is bound to the fulfiller: the copy is worthless and reverts, the gateway's own transaction fulfils
    assert.equal(
      [...runner.copies].find(([, copy]) => copy === record.chain!.tx_hash),
      undefined,
      "the record names the bot's copy",
    );
    assert.equal(fulfilled.from, gateway);
  });

  it("a bot that records only the first trace of a completion: the gateway's transaction reverts, it sends the rest, the record ends verified", async () => {
    runner.firstTraceOnly = chain.registry.interface;
    const completion = await gw.client.completions.create({
      model: "pg-student",
      prompt: ["The whale", "The ship"],
      temperature: 0,
      max_tokens: 2,
    });
    const record = await waitForProof(gw.url, (completion as unknown as { proof: { id: string } }).proof.id);
    assert.equal(record.status, "verified", `record ended ${record.status}: ${record.error}`);
    assert.equal(runner.firstTraceOnly, null, "the bot took the first trace");
    // the first trace stands for the record: the bot's transaction recorded it
    await assertTakenByBot(record);
    const key = gw.chain.deployment.models[(record.request as { circuit: string }).circuit]!.key;
    const senders = new Set<string>();
    for (const choice of [0, 1]) {
      const steps = record.steps
        .filter((st) => (st.output as StepOutput).choice === choice)
        .sort((a, b) => a.index - b.index);
      const tokensHash = solidityPackedKeccak256(["uint256[]"], [steps.map((st) => (st.output as StepOutput).token)]);
      const block = await chain.registry.traceBlock(key, steps[0]!.public_signals![0], tokensHash);
      assert.notEqual(block, 0n, `trace of choice ${choice} is recorded`);
      const [event] = await chain.registry.queryFilter(
        chain.registry.filters.TraceVerified(key, steps[0]!.public_signals![0], tokensHash),
        Number(block),
        Number(block),
      );
      senders.add((await provider.getTransactionReceipt(event!.transactionHash))!.from);
    }
    assert.deepEqual(
      [...senders].sort(),
      [bot.address, gateway].sort(),
      "the bot recorded the first trace, the gateway then the second",
    );
    assert.ok(
      gw.logs.some((l) => l.includes(record.id) && l.includes("trying again")),
      "the revert was looked into, then the rest sent",
    );
  });
});
