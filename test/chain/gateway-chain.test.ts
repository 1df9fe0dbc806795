/**
 * End to end on a chain: the gateway composed as `proofgate serve` builds it (SQLite, in-process
 * provers, the embedded anvil, the contracts deployed at start), asked through HTTP and the official
 * `openai` client. Served answers are proven, submitted and verified on-chain; contracts then use the
 * gateway's verdicts and texts (MessageBoard, CompletionStore); a contract's oracle request is answered
 * through the gateway; PROOFGATE_SUBMIT=requested submits only what a request asks for; a revert is
 * final; an inference already on-chain is recorded with the transaction that put it there and its
 * sender. Front-running with automine off: gateway-chain-front-run.test.ts.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  AbiCoder,
  NonceManager,
  Wallet,
  keccak256,
  solidityPackedKeccak256,
  type BaseContract,
  type ContractTransactionResponse,
  type Log,
  type TransactionReceipt,
} from "ethers";
import OpenAI from "openai";
import type { ChainInfo } from "../../src/api/chain/protocol.js";
import { ANVIL_DEV_KEY } from "../../src/chain/anvil.js";
import { InferenceOracleStatus, InferenceRegistryKind } from "../../src/chain/bindings/enums.js";
import { oracleProofId } from "../../src/chain/oracle-watcher.js";
import { proofWords, type Groth16ProofJson } from "../../src/chain/proof-calldata.js";
import { releaseSnarkWorkers } from "../../src/snark/snark-workers.js";
import { newProofRecord, type WireProof } from "../../src/core/proof-record.js";
import { HASHED_NONCE_BITS, oracleNonce } from "../../src/core/request-binding.js";
import type {
  GenerationProofOutput,
  GenerationProofRequest,
  InferenceProofRequest,
  StepOutput,
} from "../../src/prover/proof-request.js";
import { prove, randomNonce } from "../../src/prover/prove.js";
import type { ProofStore } from "../../src/store/proof-store.js";
import { settledProof } from "../fixtures/until.js";
import {
  chainContracts,
  getJson,
  postJson,
  readProof,
  startChainGateway,
  until,
  waitForProof,
  type ChainContracts,
  type ChainGateway,
} from "./gateway-chain.fixture.js";

/** anvil's second dev account: a user of the contracts, apart from the gateway's submitting account. */
const USER_KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
const HAM = "Hi Bob, are we still meeting for lunch tomorrow at noon? Thanks, Alice";
const HAM_2 = "Can you send me the notes from the meeting yesterday?";
const SPAM = "Subject: WIN CASH NOW\n\nClick here to claim your free prize money";

after(releaseSnarkWorkers);

async function api<T>(url: string, body?: unknown): Promise<{ status: number; body: T }> {
  return body === undefined ? await getJson<T>(url) : ((await postJson(url, body)) as { status: number; body: T });
}
const proofOf = (answer: unknown): string => (answer as { proof: { id: string } }).proof.id;

function assertNoSecret(texts: readonly string[], where: string): void {
  const key = ANVIL_DEV_KEY.slice(2).toLowerCase();
  for (const text of texts)
    assert.ok(!text.toLowerCase().includes(key), `the private key appears in ${where}: ${text.slice(0, 300)}`);
}

/**
 * The private-key check on answers the test itself produced, so it holds run alone: an inference
 * that goes on-chain, then every kind of answer the gateway gives about it and about itself, and an
 * error envelope; then the log, which by then holds the lines of that submission and those requests.
 */
async function assertNoSecretAnywhere(gw: ChainGateway, request: Record<string, unknown>): Promise<void> {
  const inference = await postJson(`${gw.url}/v1/inferences`, { model: "pg-spam", input: HAM, ...request });
  assert.equal(inference.status, 200, inference.text);
  const id = proofOf(inference.body);
  const record = await waitForProof(gw.url, id);
  assert.equal(record.status, "verified", record.error ?? "");
  const texts = [inference.text];
  for (const path of [
    "/v1/chain",
    "/v1/models",
    "/v1/stats",
    "/health",
    "/metrics",
    "/openapi.json",
    "/v1/proofs?limit=100",
    `/v1/proofs/${id}`,
    `/v1/proofs/${id}/circuit`,
    `/explorer/proofs/${id}`,
  ]) {
    const res = await fetch(`${gw.url}${path}`);
    assert.equal(res.status, 200, `GET ${path}`);
    texts.push(await res.text());
  }
  const refused = await postJson(`${gw.url}/v1/inferences`, { model: "pg-spam", input: HAM, proof: "yes" });
  assert.equal(refused.status, 400);
  texts.push(refused.text);
  assertNoSecret(texts, "an API answer");
  assert.ok(
    gw.logs.some((l) => l.includes(id)),
    "the log checked holds this test's own requests",
  );
  assertNoSecret(gw.logs, "the log");
}

/** The events of `contract` among a receipt's logs, parsed. */
function eventsOf(
  contract: BaseContract,
  logs: readonly Log[],
  name: string,
): { args: Record<string, unknown> & unknown[]; log: Log }[] {
  const address = String(contract.target).toLowerCase();
  return logs
    .filter((l) => l.address.toLowerCase() === address)
    .map((log) => ({ log, parsed: contract.interface.parseLog(log) }))
    .filter((e) => e.parsed?.name === name)
    .map((e) => ({ log: e.log, args: e.parsed!.args as unknown as Record<string, unknown> & unknown[] }));
}

async function mined(tx: Promise<ContractTransactionResponse>): Promise<TransactionReceipt> {
  const receipt = await (await tx).wait();
  assert.ok(receipt && receipt.status === 1);
  return receipt;
}

/** A custom error's name from a call that reverted (ethers decodes it for staticCall). */
async function revertName(call: Promise<unknown>, contract: BaseContract): Promise<string> {
  try {
    await call;
  } catch (err) {
    const e = err as { revert?: { name: string } | null; data?: string };
    if (e.revert?.name) return e.revert.name;
    if (e.data) return contract.interface.parseError(e.data)?.name ?? `unknown error ${e.data}`;
    throw err;
  }
  throw new Error("the call did not revert");
}

/** A `proved` record made by hand, as a worker would leave it, asking for submission. */
async function storeProvedRecord(
  store: ProofStore,
  base: { model: string; request: InferenceProofRequest; output: unknown; vkeyHash: string | null },
  proved: { nonce: bigint; publicSignals: string[]; proof: unknown },
): Promise<string> {
  const record = await store.create(
    newProofRecord({
      model: base.model,
      request: { ...base.request, nonce: proved.nonce.toString(), submit: true },
      output: base.output,
      vkeyHash: base.vkeyHash,
    }),
  );
  assert.ok(await store.transition(record.id, "queued", "proving", { prover: "test" }));
  assert.ok(
    await store.transition(record.id, "proving", "proved", {
      publicSignals: proved.publicSignals,
      proof: proved.proof,
    }),
  );
  return record.id;
}

describe("the gateway on its embedded chain (PROOFGATE_SUBMIT=all)", () => {
  let gw: ChainGateway;
  /** Read-only views. */
  let chain: ChainContracts;
  /** The same contracts, sending as the user account. */
  let asUser: ChainContracts;
  let user: NonceManager;
  let userAddress: string;
  let client: OpenAI;
  let spamKey: string;
  let studentKey: string;
  /** A verified ham verdict for the hand-made records below: the ham test's, or one made for them when it did not run. */
  let hamVerdict: Promise<WireProof> | undefined;
  const verifiedHam = (): Promise<WireProof> =>
    (hamVerdict ??= (async () => {
      const res = await api<{ proof: { id: string } }>(`${gw.url}/v1/inferences`, { model: "pg-spam", input: HAM });
      const record = await waitForProof(gw.url, proofOf(res.body));
      assert.equal(record.status, "verified", record.error ?? "");
      return record;
    })());

  before(async () => {
    gw = await startChainGateway();
    const { provider } = gw.chain.connection;
    chain = chainContracts(gw.chain.deployment, provider);
    const wallet = new Wallet(USER_KEY, provider);
    userAddress = wallet.address;
    user = new NonceManager(wallet);
    asUser = chainContracts(gw.chain.deployment, user);
    client = gw.client;
    const models = gw.proofs.catalog.modelIds.map((id) => gw.proofs.catalog.manifest(id)!);
    spamKey = `0x${models.find((m) => m.kind === "classify")!.vkey_hash}`;
    studentKey = `0x${models.find((m) => m.kind === "token-step")!.vkey_hash}`;
  });
  after(() => gw?.close());

  it("GET /v1/chain names the embedded chain, its contracts and models", async () => {
    const { status, body } = await api<ChainInfo>(`${gw.url}/v1/chain`);
    assert.equal(status, 200);
    const d = gw.chain.deployment;
    assert.equal(body.object, "chain");
    assert.equal(body.chain_id, 31337);
    assert.equal(body.embedded, true);
    assert.equal(body.submit_policy, "all");
    assert.equal(body.account, new Wallet(ANVIL_DEV_KEY).address);
    assert.equal(body.from_block, d.from_block);
    assert.deepEqual(body.contracts, {
      registry: d.registry,
      oracle: d.oracle,
      message_board: d.message_board,
      completion_store: d.completion_store,
      hashers: d.hashers,
    });
    assert.ok(body.contracts.message_board && body.contracts.completion_store && body.contracts.hashers["7"]);
    assert.deepEqual(body.timelock, {
      address: d.timelock.address,
      min_delay_s: gw.config.timelockDelayS,
      proposer: body.account,
    });
    assert.equal(await chain.registry.owner(), d.timelock.address, "the timelock owns the registry");
    assert.equal(await chain.oracle.owner(), d.timelock.address, "and the oracle");
    for (const address of [
      body.contracts.registry,
      body.contracts.oracle,
      body.contracts.message_board,
      body.contracts.completion_store,
      body.contracts.hashers["7"],
    ]) {
      assert.notEqual(await gw.chain.connection.provider.getCode(address!), "0x", `no code at ${address}`);
    }
    const catalog = gw.proofs.catalog;
    assert.deepEqual(Object.keys(body.models).sort(), [...catalog.modelIds].sort());
    for (const [modelId, m] of Object.entries(body.models)) {
      assert.equal(m.key, `0x${catalog.manifest(modelId)!.vkey_hash}`);
      const { kind } = await chain.registry.models(m.key);
      assert.notEqual(kind, InferenceRegistryKind.Unknown, `model ${modelId} is registered`);
    }
  });

  it("a ham verdict is verified on-chain, and MessageBoard publishes exactly that text with it", async () => {
    const res = await api<{ output: { label: string; label_id: number }; proof: { id: string } }>(
      `${gw.url}/v1/inferences`,
      { model: "pg-spam", input: HAM },
    );
    assert.equal(res.status, 200);
    assert.equal(res.body.output.label, "ham");
    const record = await waitForProof(gw.url, proofOf(res.body));
    assert.equal(record.status, "verified", record.error ?? "");
    hamVerdict ??= Promise.resolve(record);
    const onChain = record.chain!;
    assert.equal(onChain.chain_id, 31337);
    assert.equal(onChain.contract, gw.chain.deployment.registry);
    assert.match(onChain.tx_hash, /^0x[0-9a-f]{64}$/);
    const receipt = (await gw.chain.connection.provider.getTransactionReceipt(onChain.tx_hash))!;
    assert.equal(receipt.status, 1);
    assert.equal(receipt.to, gw.chain.deployment.registry);
    assert.equal(receipt.from, new Wallet(ANVIL_DEV_KEY).address);
    assert.equal(onChain.submitted_by, receipt.from, "sent by the gateway itself");
    assert.equal(onChain.block_number, String(receipt.blockNumber));
    assert.equal(onChain.gas_used, String(receipt.gasUsed));
    assert.ok(record.timings.submit !== undefined);

    const { inputCommitment: commitment, output: label } = await chain.registry.decode(spamKey, record.public_signals!);
    assert.equal(label, 0n);
    const { verified, output, blockNumber } = await chain.registry.inference(spamKey, commitment);
    assert.deepEqual(
      [verified, output, blockNumber],
      [true, BigInt(res.body.output.label_id), BigInt(receipt.blockNumber)],
    );
    const [event] = eventsOf(chain.registry, receipt.logs, "InferenceVerified");
    assert.equal(event?.args[1], commitment);

    const request = record.request as InferenceProofRequest;
    const nonce = BigInt(request.nonce);
    const salt = request.salt!;
    assert.equal(await chain.board.textNonce(HAM, salt), nonce, "the gateway's nonce of this text is the board's");
    assert.equal(
      await chain.board.inputCommitment(HAM, nonce),
      commitment,
      "the board recomputes the proof's commitment from the text",
    );
    const postReceipt = await mined(asUser.board.post(HAM, salt));
    const [posted] = eventsOf(chain.board, postReceipt.logs, "Posted");
    assert.ok(posted, "Posted");
    assert.deepEqual(
      [posted.args[1], posted.args[2], posted.args[3], posted.args[4]],
      [userAddress, 0n, commitment, HAM],
    );
    const { author, text } = await chain.board.posts(posted.args[0] as bigint);
    assert.deepEqual([author, text], [userAddress, HAM]);
    // the verdict publishes one post, and fits no other text
    assert.equal(await revertName(asUser.board.post.staticCall(HAM, salt), chain.board), "VerdictUsed");
    assert.equal(
      await revertName(asUser.board.post.staticCall(`${HAM} Bring the cash.`, salt), chain.board),
      "NoVerdict",
    );
  });

  it("a spam verdict is verified too, and MessageBoard refuses to post with it", async () => {
    const res = await api<{ output: { label: string; label_id: number }; proof: { id: string } }>(
      `${gw.url}/v1/inferences`,
      { model: "pg-spam", input: SPAM },
    );
    assert.equal(res.body.output.label, "spam");
    const record = await waitForProof(gw.url, proofOf(res.body));
    assert.equal(record.status, "verified", record.error ?? "");
    const { inputCommitment: commitment } = await chain.registry.decode(spamKey, record.public_signals!);
    const { verified, output: label } = await chain.registry.inference(spamKey, commitment);
    assert.deepEqual([verified, label], [true, 1n]);
    const salt = (record.request as InferenceProofRequest).salt!;
    assert.equal(await revertName(asUser.board.post.staticCall(SPAM, salt), chain.board), "Spam");
    await assert.rejects(mined(asUser.board.post(SPAM, salt)));
    user.reset();
  });

  /**
   * Every choice of a completion is one trace, all verified in one transaction; CompletionStore then
   * keeps the text decoded on-chain from the proven tokens: what the API served.
   */
  async function assertTracesOnChain(
    record: WireProof,
    served: readonly { text: string; finish_reason: string }[],
  ): Promise<void> {
    assert.equal(record.status, "verified", record.error ?? "");
    assert.equal(record.chain!.contract, gw.chain.deployment.registry);
    const receipt = (await gw.chain.connection.provider.getTransactionReceipt(record.chain!.tx_hash))!;
    assert.equal(receipt.status, 1);
    const choices = (record.output as GenerationProofOutput).choices;
    assert.equal(choices.length, served.length);
    const traced = eventsOf(chain.registry, receipt.logs, "TraceVerified");
    const states = new Set<string>();
    for (const choice of choices) {
      const steps = record.steps
        .filter((s) => (s.output as StepOutput).choice === choice.index)
        .sort((a, b) => (a.output as StepOutput).position - (b.output as StepOutput).position);
      const tokens = steps.map((s) => (s.output as StepOutput).token);
      assert.deepEqual(tokens, choice.tokens);
      const promptState = steps[0]!.public_signals![0]!;
      states.add(promptState);
      const tokensHash = solidityPackedKeccak256(["uint256[]"], [tokens]);
      assert.equal(await chain.registry.traceBlock(studentKey, promptState, tokensHash), BigInt(receipt.blockNumber));
      assert.equal(await chain.registry.isTraceVerified(studentKey, promptState, tokens), true);
      assert.equal(
        await chain.registry.isTraceVerified(studentKey, promptState, [
          ...tokens.slice(0, -1),
          (tokens.at(-1)! + 1) % 256,
        ]),
        false,
      );
      assert.ok(
        traced.some((e) => String(e.args[1]) === promptState && e.args[2] === tokensHash),
        `choice ${choice.index}: TraceVerified in the record's transaction`,
      );
      assert.equal(choice.finish_reason, served[choice.index]!.finish_reason);
      // the served text leaves out the end-of-text token, and so does the contract's decoder
      assert.equal(choice.text, served[choice.index]!.text);
    }
    assert.equal(traced.length, states.size, "one TraceVerified per distinct trace");
    const request = record.request as GenerationProofRequest;
    for (const state of states) {
      const choice = choices.find(
        (c) => record.steps.find((s) => (s.output as StepOutput).choice === c.index)!.public_signals![0] === state,
      )!;
      assert.equal(choice.completion_tokens, choice.tokens.length);
      // the request as the record holds it: the store recomputes its nonce and first state
      const asked = {
        prompt: [...request.prompt_tokens[choice.prompt_index]!],
        maxTokens: request.max_tokens,
        stop: [...request.stop],
        salt: request.salt!,
      };
      assert.equal(String(await chain.store.promptState(asked)), state, "the trace starts at the request's own state");
      const storeReceipt = await mined(asUser.store.store(asked, [...choice.tokens]));
      const [stored] = eventsOf(chain.store, storeReceipt.logs, "CompletionStored");
      assert.ok(stored, "CompletionStored");
      assert.equal(stored.args[4], served[choice.index]!.text, "the stored text is the served one");
      const { storedBy, text } = await chain.store.completion(stored.args[0] as string);
      assert.deepEqual([storedBy, text], [userAddress, served[choice.index]!.text]);
    }
  }

  it("a text completion of two prompts: both traces verified in one transaction, stored on-chain as served", async () => {
    const res = await client.completions.create({
      model: "pg-student",
      prompt: ["The sea", "The President"],
      temperature: 0,
      max_tokens: 6,
    });
    assert.equal(res.choices.length, 2);
    const record = await waitForProof(gw.url, proofOf(res));
    await assertTracesOnChain(record, res.choices);
    const firstSteps = record.steps.filter((s) => (s.output as StepOutput).position === 0);
    const stored = await Promise.all(
      firstSteps.map((s) => {
        const choice = (res.choices as { index: number }[]).find((ch) => ch.index === (s.output as StepOutput).choice)!;
        const tokens = record.steps
          .filter((x) => (x.output as StepOutput).choice === choice.index)
          .map((x) => (x.output as StepOutput).token);
        const traceId = keccak256(
          AbiCoder.defaultAbiCoder().encode(
            ["uint256", "bytes32"],
            [s.public_signals![0]!, solidityPackedKeccak256(["uint256[]"], [tokens])],
          ),
        );
        return chain.store.completion(traceId);
      }),
    );
    assert.deepEqual(
      stored.map((c: unknown[]) => c[1]),
      ["The sea", "The President"],
      "the stored prompt is the request's",
    );
  });

  it("a completion ended by a stop string: its proofs end at the token that completed it, stored on-chain cut as served", async () => {
    // greedy "The old man and the" goes on " Union of": "io" ends inside the 4th token, which carries more text
    const res = await client.completions.create({
      model: "pg-student",
      prompt: "The old man and the",
      temperature: 0,
      max_tokens: 16,
      stop: ["n of", "io"],
    });
    assert.deepEqual([res.choices[0]!.text, res.choices[0]!.finish_reason], [" Un", "stop"]);
    const record = await waitForProof(gw.url, proofOf(res));
    const choice = (record.output as GenerationProofOutput).choices[0]!;
    assert.equal(choice.tokens.length, 4, "no step past the stop string");
    assert.equal(record.steps.length, 4);
    assert.deepEqual((record.request as GenerationProofRequest).stop, ["n of", "io"]);
    await assertTracesOnChain(record, res.choices);
  });

  it("a chat completion with n=2 at temperature 0 (identical choices, one prompt state) ends verified", async () => {
    const res = await client.chat.completions.create({
      model: "pg-student",
      messages: [{ role: "user", content: "Call me Ishmael." }],
      temperature: 0,
      max_tokens: 4,
      n: 2,
    });
    assert.equal(res.choices.length, 2);
    const record = await waitForProof(gw.url, proofOf(res));
    await assertTracesOnChain(
      record,
      res.choices.map((c) => ({ text: c.message.content ?? "", finish_reason: c.finish_reason })),
    );
  });

  it("an oracle request from a contract is proven and fulfilled through the gateway: Posted for ham, Rejected for spam", async () => {
    const { enabled, baseFee, feePerGas } = await chain.oracle.services(spamKey);
    assert.deepEqual([enabled, baseFee, feePerGas], [true, gw.config.oracleFeeWei, gw.config.oracleFeePerGasWei]);
    const fee = await chain.oracle.fee(spamKey, 500_000);
    assert.equal(fee, baseFee + 500_000n * feePerGas);
    assert.equal(
      await revertName(asUser.board.submit.staticCall(HAM_2, 500_000, { value: fee - 1n }), chain.oracle),
      "WrongFee",
    );
    const requestIdOf = (receipt: TransactionReceipt): bigint =>
      eventsOf(chain.board, receipt.logs, "Submitted")[0]!.args[0] as bigint;
    const hamRequest = requestIdOf(await mined(asUser.board.submit(HAM_2, 500_000, { value: fee })));
    const spamRequest = requestIdOf(await mined(asUser.board.submit(SPAM, 500_000, { value: fee })));
    const postsBefore = await chain.board.postCount();

    const ids = [hamRequest, spamRequest].map((r) => oracleProofId(31337, gw.chain.deployment.oracle, r));
    const records: WireProof[] = [];
    for (const id of ids) {
      // the watcher records it once it has seen the request's block
      await until(
        () => gw.proofs.store.get(id),
        (r) => r !== null,
        { what: `record ${id}` },
      );
      const record = await waitForProof(gw.url, id);
      assert.equal(record.status, "verified", record.error ?? "");
      assert.equal(record.model, "pg-spam");
      assert.equal(record.chain!.contract, gw.chain.deployment.oracle);
      const request = record.request as InferenceProofRequest;
      assert.equal(request.endpoint, "oracle");
      // the nonce the oracle expects from the gateway's account: chain, oracle, request id and fulfiller bound
      assert.equal(
        request.nonce,
        oracleNonce(
          {
            chainId: 31337,
            oracle: gw.chain.deployment.oracle,
            requestId: BigInt(request.oracle!.request_id),
            fulfiller: gw.chain.connection.address,
          },
          HASHED_NONCE_BITS,
        ).toString(),
      );
      assert.equal(request.oracle!.requester, await chain.board.getAddress());
      records.push(record);
    }
    const [hamRecordOracle, spamRecordOracle] = records;
    assert.equal((hamRecordOracle!.request as InferenceProofRequest).oracle!.request_id, String(hamRequest));

    const hamReceipt = (await gw.chain.connection.provider.getTransactionReceipt(hamRecordOracle!.chain!.tx_hash))!;
    const [fulfilled] = eventsOf(chain.oracle, hamReceipt.logs, "InferenceFulfilled");
    assert.equal(fulfilled?.args[0], hamRequest);
    assert.equal(fulfilled?.args[4], true, "the callback succeeded");
    const [posted] = eventsOf(chain.board, hamReceipt.logs, "Posted");
    assert.ok(posted, "Posted in the fulfilling transaction");
    assert.deepEqual([posted.args[1], posted.args[2], posted.args[4]], [userAddress, hamRequest, HAM_2]);
    assert.equal(await chain.board.postCount(), postsBefore + 1n);
    // the verdict the oracle recorded is in the registry like any other
    const { verified, output: label } = await chain.registry.inference(spamKey, fulfilled?.args[2] as bigint);
    assert.deepEqual([verified, label], [true, 0n]);

    const spamReceipt = (await gw.chain.connection.provider.getTransactionReceipt(spamRecordOracle!.chain!.tx_hash))!;
    const [rejected] = eventsOf(chain.board, spamReceipt.logs, "Rejected");
    assert.ok(rejected, "Rejected in the fulfilling transaction");
    assert.deepEqual([rejected.args[0], rejected.args[1], rejected.args[2]], [spamRequest, userAddress, 1n]);
    assert.equal(eventsOf(chain.board, spamReceipt.logs, "Posted").length, 0);
    for (const r of [hamRequest, spamRequest])
      assert.equal((await chain.oracle.requests(r)).status, InferenceOracleStatus.Fulfilled);

    const list = await api<{ data: WireProof[] }>(`${gw.url}/v1/proofs?model=pg-spam&limit=100`);
    assert.equal(list.status, 200);
    for (const id of ids)
      assert.equal(list.body.data.find((r) => r.id === id)?.status, "verified", `GET /v1/proofs lists ${id}`);
    const verifiedList = await api<{ data: WireProof[] }>(`${gw.url}/v1/proofs?status=verified&limit=100`);
    assert.ok(ids.every((id) => verifiedList.body.data.some((r) => r.id === id)));
  });

  it("a revert is final: a proved record with tampered public signals ends failed, naming InvalidProof", async () => {
    const hamRecord = await verifiedHam();
    const stored = (await gw.proofs.store.get(hamRecord.id))!;
    const signals = [...stored.publicSignals!];
    signals[0] = (BigInt(signals[0]!) ^ (1n << 20n)).toString(); // another commitment, one no proof was made for
    const id = await storeProvedRecord(
      gw.proofs.store,
      {
        model: stored.model,
        request: stored.request as InferenceProofRequest,
        output: stored.output,
        vkeyHash: stored.vkeyHash,
      },
      { nonce: randomNonce(), publicSignals: signals, proof: stored.proof },
    );
    const record = await waitForProof(gw.url, id);
    assert.equal(record.status, "failed");
    assert.match(record.error ?? "", /InvalidProof/);
    const { inputCommitment: commitment } = await chain.registry.decode(spamKey, signals);
    assert.equal((await chain.registry.inference(spamKey, commitment)).verified, false);
    await gw.chain.submitter.pass(); // a whole submitter pass after it failed: a failed record stays failed
    assert.equal((await gw.proofs.store.get(id))!.status, "failed");
  });

  it("a proved record whose inference is already on-chain takes that transaction; the registry holds one event", async () => {
    const hamRecord = await verifiedHam();
    const stored = (await gw.proofs.store.get(hamRecord.id))!;
    const request = stored.request as InferenceProofRequest;
    const compiled = (await gw.proofs.catalog.get(request.circuit))!;
    const nonce = randomNonce();
    const file = await prove(compiled, { sample: request.sample, nonce });
    // someone else submits this proof first
    const byHand = await mined(
      asUser.registry.verifyAndRecord(spamKey, proofWords(file.proof as Groth16ProofJson), [...file.public_signals]),
    );
    const id = await storeProvedRecord(
      gw.proofs.store,
      { model: stored.model, request, output: stored.output, vkeyHash: stored.vkeyHash },
      { nonce, publicSignals: [...file.public_signals], proof: file.proof },
    );
    const record = await waitForProof(gw.url, id);
    assert.equal(record.status, "verified", record.error ?? "");
    assert.equal(record.chain!.tx_hash, byHand.hash);
    assert.equal(record.chain!.block_number, String(byHand.blockNumber));
    assert.equal(record.chain!.gas_used, String(byHand.gasUsed));
    assert.equal(record.chain!.submitted_by, userAddress, "sent by whoever recorded it first");
    const { inputCommitment: commitment } = await chain.registry.decode(spamKey, [...file.public_signals]);
    const events = await chain.registry.queryFilter(
      chain.registry.filters.InferenceVerified(spamKey, commitment),
      gw.chain.deployment.from_block,
    );
    assert.equal(events.length, 1);
    assert.equal(events[0]!.transactionHash, byHand.hash);
    assert.ok(gw.logs.some((l) => l.includes(id) && l.includes("already on-chain")));
  });

  it("a proved record claiming another output for an input already on-chain does not take that transaction: it fails", async () => {
    const hamRecord = await verifiedHam();
    const stored = (await gw.proofs.store.get(hamRecord.id))!;
    const signals = [...stored.publicSignals!];
    signals[0] = (BigInt(signals[0]!) ^ 1n).toString(); // the same commitment, the other label
    const id = await storeProvedRecord(
      gw.proofs.store,
      {
        model: stored.model,
        request: stored.request as InferenceProofRequest,
        output: stored.output,
        vkeyHash: stored.vkeyHash,
      },
      { nonce: BigInt((stored.request as InferenceProofRequest).nonce), publicSignals: signals, proof: stored.proof },
    );
    const record = await waitForProof(gw.url, id);
    assert.equal(
      record.status,
      "failed",
      `the chain recorded label 0 for this input, yet the record claiming label 1 became ${record.status} with ${record.chain?.tx_hash}`,
    );
    assert.equal(record.chain?.tx_hash === hamRecord.chain!.tx_hash, false);
  });

  it("the private key appears in no API answer and no log line", async () => {
    assert.ok(gw.logs.some((l) => l.includes("chain connected")));
    await assertNoSecretAnywhere(gw, {});
  });
});

describe("PROOFGATE_SUBMIT=requested: only what a request asks for goes on-chain", () => {
  let gw: ChainGateway;
  before(async () => {
    gw = await startChainGateway({ env: { PROOFGATE_SUBMIT: "requested" } });
  });
  after(() => gw?.close());

  it("GET /v1/chain says so", async () => {
    const { body } = await api<ChainInfo>(`${gw.url}/v1/chain`);
    assert.equal(body.submit_policy, "requested");
  });

  it('without "proof": {"submit": true} a record stays proved, which is final: ?wait returns at once', async () => {
    const res = await api<{ proof: { id: string } }>(`${gw.url}/v1/inferences`, { model: "pg-spam", input: HAM });
    const id = proofOf(res.body);
    const first = await settledProof(gw.url, id, ["proved", "failed"]);
    assert.equal(first.status, "proved", first.error ?? "");
    assert.equal((first.request as InferenceProofRequest).submit, false);
    // a record that is not final would hold ?wait=60 for its minute; this cap is half of it
    const again = await getJson<WireProof>(`${gw.url}/v1/proofs/${id}?wait=60`, {
      signal: AbortSignal.timeout(30_000),
    });
    assert.equal(again.body.status, "proved");
    await gw.chain.submitter.pass(); // a whole submitter pass: it takes nothing without submit
    const still = await readProof(gw.url, id);
    assert.equal(still.status, "proved");
    assert.equal(still.chain, null);
  });

  it('with "proof": {"submit": true} an inference and a completion end verified on-chain', async () => {
    const inference = await api<{ proof: { id: string } }>(`${gw.url}/v1/inferences`, {
      model: "pg-spam",
      input: HAM,
      proof: { submit: true },
    });
    assert.equal(inference.status, 200);
    const completion = await gw.client.completions.create({
      model: "pg-student",
      prompt: "The whale",
      max_tokens: 2,
      temperature: 0,
      // not in the OpenAI schema: the client passes it through in the body
      ...({ proof: { submit: true } } as object),
    });
    for (const id of [proofOf(inference.body), proofOf(completion)]) {
      const record = await waitForProof(gw.url, id);
      assert.equal(record.status, "verified", record.error ?? "");
      assert.equal((record.request as { submit: boolean }).submit, true);
      assert.equal(record.chain!.contract, gw.chain.deployment.registry);
      assert.equal(record.chain!.chain_id, 31337);
    }
  });

  it('an invalid "proof" value is a 400 in the OpenAI error envelope', async () => {
    for (const proof of [{ submit: "yes" }, { submit: true, extra: 1 }, "yes"]) {
      const res = await api<{ error: { message: string; type: string; param: string | null; code: string } }>(
        `${gw.url}/v1/inferences`,
        { model: "pg-spam", input: HAM, proof },
      );
      assert.equal(res.status, 400, JSON.stringify(res.body));
      assert.equal(res.body.error.type, "invalid_request_error");
      assert.equal(res.body.error.code, "invalid_argument");
      assert.match(res.body.error.param ?? "", /^proof/);
      assert.ok(res.body.error.message.length > 0);
    }
    await assert.rejects(
      new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: "unused", maxRetries: 0 }).completions.create({
        model: "pg-student",
        prompt: "x",
        max_tokens: 1,
        ...({ proof: { submit: "yes" } } as object),
      }),
      (err) => err instanceof OpenAI.BadRequestError && err.code === "invalid_argument",
    );
  });

  it("the private key appears in no API answer and no log line", async () => {
    await assertNoSecretAnywhere(gw, { proof: { submit: true } });
  });
});
