/**
 * InferenceOracle on a real anvil, deployed as the gateway deploys it (deployContracts, a known fee),
 * with the test playing the gateway: it reads InferenceRequested, proves the request under the nonce
 * that names its fulfiller (oracleNonce) and fulfils it from that account. Fees, inputs, the proof's
 * binding to one request, one input and one fulfiller (a front-runner with automine off), the
 * callback's gas and what it costs the requester, refunds, and both example flows
 * (MessageBoard.submit, a decoding step for a consumer contract).
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { id as keccakText, NonceManager, Wallet, ZeroHash, type Contract, type TransactionReceipt } from "ethers";
import { pino } from "pino";
import { InferenceOracleStatus } from "../../src/chain/bindings/enums.js";
import { InferenceOracle__factory, type InferenceOracle } from "../../src/chain/bindings/index.js";
import { contractSources } from "../../src/chain/contract-build.js";
import { fulfillGasEstimate, oracleProofId, oracleSample, OracleWatcher } from "../../src/chain/oracle-watcher.js";
import { compileSolidity } from "../../src/chain/solidity.js";
import { HASHED_NONCE_BITS, oracleNonce } from "../../src/core/request-binding.js";
import { MemoryJobQueue } from "../../src/jobs/job-queue-memory.js";
import { Tokenizer, type TokenizerJSON } from "../../src/model/tokenizer.js";
import { CompiledCatalog } from "../../src/prover/compiled-catalog.js";
import { ProofScheduler } from "../../src/prover/proof-scheduler.js";
import { MemoryProofStore } from "../../src/store/proof-store-memory.js";
import { inputCommitment } from "../../src/witness/circuit-input.js";
import {
  BOT_KEY,
  calldata,
  eventOf,
  eventsOf,
  HAM,
  HAM_TEXT,
  HAM_TEXT_2,
  mined,
  openTestChain,
  proofOf,
  R,
  revertsInside,
  revertsWith,
  SPAM,
  SPAM_DIR,
  SPAM_TEXT,
  spamProof,
  spamSample,
  STUDENT_DIR,
  type Calldata,
  trackNonces,
  type TestChain,
} from "./chain.fixture.js";

const FEE = 3n * 10n ** 15n;
const TIMEOUT_S = 600;
const BOARD_GAS = 500_000;
const MAX_CALLBACK_GAS = 5_000_000;

/** A consumer that records what it is called back with and the gas it got, then burns `burn` gas. */
const CONSUMER_PATH = "test/chain/TestConsumer.sol";
const CONSUMER = `// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IInferenceConsumer, InferenceOracle} from "contracts/InferenceOracle.sol";

contract TestConsumer is IInferenceConsumer {
    InferenceOracle public immutable oracle;
    uint256 public burn;
    uint256 public calls;
    uint256 public gasAtEntry;
    uint256 public lastRequest;
    uint256[] private _lastOutput;

    constructor(InferenceOracle oracle_) {
        oracle = oracle_;
    }

    function setBurn(uint256 burn_) external {
        burn = burn_;
    }

    function onInference(uint256 requestId, uint256[] calldata output) external {
        uint256 entry = gasleft();
        require(msg.sender == address(oracle), "not the oracle");
        gasAtEntry = entry;
        calls += 1;
        lastRequest = requestId;
        _lastOutput = output;
        uint256 amount = burn;
        if (amount != 0) {
            uint256 stop = entry > amount ? entry - amount : 0;
            while (gasleft() > stop) {}
        }
    }

    function lastOutput() external view returns (uint256[] memory) {
        return _lastOutput;
    }
}
`;

let c: TestChain;
let oracle: Contract;
/** The oracle through its typed binding: reads of its structs by field name. */
let reader: InferenceOracle;
let asFulfiller: Contract;
let consumer: Contract;
let consumerAddress: string;
let spamKey: string;
let studentKey: string;
let tokenizer: Tokenizer;

before(async () => {
  c = await openTestChain({ feeWei: FEE, timeoutS: TIMEOUT_S });
  ({ oracle, spamKey, studentKey } = c);
  reader = InferenceOracle__factory.connect(c.deployment.oracle, c.chain.provider);
  asFulfiller = oracle.connect(c.second) as Contract;
  // the consumer compiles against the project's oracle source, and only what that imports
  const all = contractSources();
  const needed = [
    "contracts/InferenceOracle.sol",
    "contracts/InferenceRegistry.sol",
    "contracts/lib/Decimal.sol",
    "contracts/lib/Groth16.sol",
    "contracts/lib/Owned2Step.sol",
  ];
  const sources = { ...Object.fromEntries(needed.map((path) => [path, all[path]])), [CONSUMER_PATH]: CONSUMER };
  const compiled = compileSolidity(sources).TestConsumer;
  consumer = await c.deploy(compiled.abi, compiled.bytecode, [c.deployment.oracle]);
  consumerAddress = await consumer.getAddress();
  tokenizer = Tokenizer.fromJSON(JSON.parse(await readFile(`${STUDENT_DIR}/tokenizer.json`, "utf8")) as TokenizerJSON);
});

after(async () => {
  await c?.close();
});

const clearLabel = (claim: bigint) => (claim >> 16n) << 16n;

/** The words MessageBoard (HashedWords) sends for a text: its spam features packed 253 to a word. */
function spamWords(text: string): bigint[] {
  const words = [0n, 0n, 0n, 0n, 0n];
  spamSample(text).forEach((bit, i) => {
    if (bit) words[Math.floor(i / 253)] |= 1n << BigInt(i % 253);
  });
  return words;
}

interface Requested {
  readonly requestId: bigint;
  readonly input: bigint[];
  readonly deadline: bigint;
  readonly receipt: TransactionReceipt;
}

function requested(receipt: TransactionReceipt): Requested {
  const event = eventOf(receipt, oracle, "InferenceRequested");
  return {
    requestId: event.args.requestId as bigint,
    input: [...(event.args.input as bigint[])],
    deadline: event.args.deadline as bigint,
    receipt,
  };
}

/** A request straight to the oracle from the deployer's account. */
async function request(
  model: string,
  input: readonly bigint[],
  callback: string,
  gasLimit: number,
): Promise<Requested> {
  return requested(await mined(oracle.requestInference(model, input, callback, gasLimit, { value: FEE })));
}

/** The nonce request `requestId` expects from `fulfiller` (the test's fulfiller, anvil's account #1, unless named). */
function nonceOf(requestId: bigint, bits = HASHED_NONCE_BITS, fulfiller = c.secondAddress): bigint {
  return oracleNonce({ chainId: c.chain.chainId, oracle: c.deployment.oracle, requestId, fulfiller }, bits);
}

/** The proof of a pg-spam request, made as the gateway makes it: the sample from the request's words, the fulfiller's nonce. */
async function spamAnswer(r: Requested, fulfiller = c.secondAddress): Promise<Calldata> {
  return calldata(
    await proofOf(SPAM_DIR, oracleSample(c.spam, r.input), nonceOf(r.requestId, HASHED_NONCE_BITS, fulfiller)),
  );
}

async function fulfill(
  r: Requested,
  answer: Calldata,
  overrides: Record<string, unknown> = {},
): Promise<TransactionReceipt> {
  return mined(asFulfiller.fulfill(r.requestId, r.input, answer.proof, answer.signals, overrides));
}

async function status(requestId: bigint): Promise<bigint> {
  return (await reader.requests(requestId)).status;
}

/** The fee a transaction's sender paid for gas. */
const gasCost = (receipt: TransactionReceipt) => receipt.gasUsed * receipt.gasPrice;

test("deployContracts set the oracle up: a service per model at the fee, the Poseidon hasher for 7 inputs, the timeout, the timelock as owner", async () => {
  assert.equal(await oracle.registry(), c.deployment.registry);
  assert.equal(await oracle.timeout(), BigInt(TIMEOUT_S));
  assert.equal(await oracle.owner(), c.deployment.timelock.address);
  assert.equal(await oracle.MAX_CALLBACK_GAS(), BigInt(MAX_CALLBACK_GAS));
  assert.equal(await oracle.ORACLE_DOMAIN(), keccakText("proofgate.oracle.v1"));
  for (const key of [spamKey, studentKey]) assert.deepEqual([...(await oracle.services(key))], [true, FEE, 0n]);
  assert.deepEqual(Object.keys(c.deployment.hashers), ["7"]);
  // by position: the struct's field `at` is shadowed by Array.prototype.at on ethers' Result
  assert.equal((await reader.hashers(7))[0], c.deployment.hashers["7"]);
  assert.equal(await oracle.requestCount(), 0n);
});

test("requestInference refuses a wrong fee, an unknown or disabled model, callback gas above the maximum, bad input", async () => {
  const words = spamWords(HAM_TEXT);
  for (const paid of [0n, FEE - 1n, FEE + 1n, 2n * FEE]) {
    await revertsWith(oracle.requestInference(spamKey, words, consumerAddress, 100_000, { value: paid }), "WrongFee", [
      paid,
      FEE,
    ]);
  }
  await revertsWith(c.board.submit(HAM_TEXT, BOARD_GAS, { value: FEE - 1n }), "WrongFee", [FEE - 1n, FEE]);
  const unknown = keccakText("no such model");
  await revertsWith(
    oracle.requestInference(unknown, words, consumerAddress, 100_000, { value: FEE }),
    "ServiceDisabled",
    [unknown],
  );
  // the deployer (the gateway's key) no longer owns the oracle: services change through the timelock only
  await revertsWith(oracle.setService(spamKey, false, 0n, 0n), "NotOwner", []);
  await revertsWith((oracle.connect(c.second) as Contract).setService(spamKey, false, 0n, 0n), "NotOwner", []);
  await revertsInside(c.governed(oracle, "setService", [unknown, true, FEE, 0n]), "UnknownModel", [unknown]);

  const { executed } = await c.governed(oracle, "setService", [spamKey, false, FEE, 0n]);
  assert.deepEqual([...eventOf(executed, oracle, "ServiceSet").args], [spamKey, false, FEE, 0n]);
  await revertsWith(
    oracle.requestInference(spamKey, words, consumerAddress, 100_000, { value: FEE }),
    "ServiceDisabled",
    [spamKey],
  );
  await revertsWith(c.board.submit(HAM_TEXT, BOARD_GAS, { value: FEE }), "ServiceDisabled", [spamKey]);
  await c.governed(oracle, "setService", [spamKey, true, FEE, 0n]);

  await revertsWith(
    oracle.requestInference(spamKey, words, consumerAddress, MAX_CALLBACK_GAS + 1, { value: FEE }),
    "CallbackGasTooHigh",
    [BigInt(MAX_CALLBACK_GAS + 1)],
  );
  await revertsWith(
    oracle.requestInference(spamKey, words, consumerAddress, 2 ** 32 - 1, { value: FEE }),
    "CallbackGasTooHigh",
    [BigInt(2 ** 32 - 1)],
  );

  // a classifier's input: as many words as a Poseidon hasher takes, each a field element
  await revertsWith(
    oracle.requestInference(spamKey, words.slice(0, 4), consumerAddress, 100_000, { value: FEE }),
    "BadInput",
    ["no Poseidon hasher for this many input words"],
  );
  await revertsWith(oracle.requestInference(spamKey, [], consumerAddress, 100_000, { value: FEE }), "BadInput", [
    "no Poseidon hasher for this many input words",
  ]);
  await revertsWith(
    oracle.requestInference(spamKey, [...words, 0n], consumerAddress, 100_000, { value: FEE }),
    "BadInput",
    ["no Poseidon hasher for this many input words"],
  );
  await revertsWith(
    oracle.requestInference(spamKey, [R, 0n, 0n, 0n, 0n], consumerAddress, 100_000, { value: FEE }),
    "BadInput",
    ["input words must be field elements"],
  );
  // a decoding step's input: one window of token ids of 9 bits
  const window = new Array(16).fill(tokenizer.eotId);
  await revertsWith(
    oracle.requestInference(studentKey, window.slice(1), consumerAddress, 100_000, { value: FEE }),
    "BadInput",
    ["a decoding step takes exactly one context window of tokens"],
  );
  await revertsWith(
    oracle.requestInference(studentKey, [...window, 0], consumerAddress, 100_000, { value: FEE }),
    "BadInput",
    ["a decoding step takes exactly one context window of tokens"],
  );
  await revertsWith(
    oracle.requestInference(studentKey, [...window.slice(1), 512], consumerAddress, 100_000, { value: FEE }),
    "BadInput",
    ["token id out of range"],
  );
  assert.equal(await oracle.requestCount(), 0n, "no request was made");
  assert.equal(await c.chain.provider.getBalance(c.deployment.oracle), 0n);

  // the limits themselves are fine
  const atMax = await request(spamKey, words, consumerAddress, MAX_CALLBACK_GAS);
  assert.equal(atMax.requestId, 1n);
  assert.equal(await status(1n), InferenceOracleStatus.Pending);
  assert.equal(await c.chain.provider.getBalance(c.deployment.oracle), FEE);
});

// ---- the MessageBoard round trip

interface BoardRequest extends Requested {
  readonly answer: Calldata;
}

let hamRequest: BoardRequest;

async function boardSubmit(text: string): Promise<Requested> {
  const receipt = await mined(c.board.submit(text, BOARD_GAS, { value: FEE }));
  const r = requested(receipt);
  const event = eventOf(receipt, oracle, "InferenceRequested");
  assert.equal(event.args.model, spamKey);
  assert.equal(event.args.requester, c.deployment.message_board);
  assert.equal(event.args.callback, c.deployment.message_board);
  assert.equal(event.args.gasLimit, BigInt(BOARD_GAS));
  assert.equal(event.args.fee, FEE);
  assert.deepEqual([...eventOf(receipt, c.board, "Submitted").args], [r.requestId, c.chain.address]);
  assert.deepEqual(r.input, spamWords(text), "the board's on-chain features are the TS side's");
  assert.deepEqual(oracleSample(c.spam, r.input), spamSample(text));
  return r;
}

test("MessageBoard.submit → InferenceRequested → proof under the fulfiller's nonce → fulfill: Posted for the author, fee to the fulfiller, recorded", async (t) => {
  const r = await boardSubmit(HAM_TEXT);
  const block = await c.chain.provider.getBlock(r.receipt.blockNumber);
  assert.equal(r.deadline, BigInt(block!.timestamp + TIMEOUT_S));
  const answer = await spamAnswer(r);
  hamRequest = { ...r, answer };
  const commitment = clearLabel(answer.signals[0]);
  assert.equal(commitment, clearLabel(await inputCommitment(c.spam, spamSample(HAM_TEXT), nonceOf(r.requestId))));
  assert.equal(
    await oracle.nonceFor(r.requestId, c.secondAddress),
    nonceOf(r.requestId),
    "the oracle computes the nonce as request-binding.ts does",
  );
  assert.equal(answer.signals[0] & 0xffffn, BigInt(HAM));

  const balance = await c.chain.provider.getBalance(c.secondAddress);
  const receipt = await fulfill(r, answer);
  const fulfilled = eventOf(receipt, oracle, "InferenceFulfilled");
  assert.deepEqual(
    [
      fulfilled.args.requestId,
      fulfilled.args.model,
      fulfilled.args.inputCommitment,
      [...fulfilled.args.output],
      fulfilled.args.callbackSucceeded,
    ],
    [r.requestId, spamKey, commitment, [BigInt(HAM)], true],
  );
  const index = (await c.board.postCount()) - 1n;
  assert.deepEqual([...eventOf(receipt, c.board, "Posted").args], [index, c.chain.address, r.requestId, 0n, HAM_TEXT]);
  assert.deepEqual([...(await c.board.posts(index))], [c.chain.address, HAM_TEXT]);
  assert.equal(
    ((await c.board.pending(r.requestId)) as unknown[])[0],
    "0x0000000000000000000000000000000000000000",
    "pending cleared",
  );
  assert.deepEqual([...eventOf(receipt, c.registry, "InferenceVerified").args], [spamKey, commitment, BigInt(HAM)]);
  assert.deepEqual(
    [...(await c.registry.inference(spamKey, commitment))],
    [true, BigInt(HAM), BigInt(receipt.blockNumber)],
  );
  assert.equal(
    await c.chain.provider.getBalance(c.secondAddress),
    balance + FEE - gasCost(receipt),
    "the fulfiller got the fee",
  );
  assert.equal(await status(r.requestId), InferenceOracleStatus.Fulfilled);
  t.diagnostic(`fulfill of a MessageBoard request (verify, record, Poseidon, store the post): ${receipt.gasUsed} gas`);

  await revertsWith(asFulfiller.fulfill(r.requestId, r.input, answer.proof, answer.signals), "NotPending", [
    r.requestId,
  ]);
  await revertsWith(oracle.refund(r.requestId), "NotPending", [r.requestId]);
  // the oracle's verdict served this request; `post` derives another nonce from the text and a salt
  for (const salt of [ZeroHash, `0x${r.requestId.toString(16).padStart(64, "0")}`])
    await revertsWith(c.board.post(HAM_TEXT, salt), "NoVerdict");
});

test("a spam verdict through the oracle: the board's callback emits Rejected and publishes nothing", async () => {
  const r = await boardSubmit(SPAM_TEXT);
  const answer = await spamAnswer(r);
  assert.equal(answer.signals[0] & 0xffffn, BigInt(SPAM));
  const posts = await c.board.postCount();
  const receipt = await fulfill(r, answer);
  assert.deepEqual([...eventOf(receipt, c.board, "Rejected").args], [r.requestId, c.chain.address, BigInt(SPAM)]);
  assert.equal(eventsOf(receipt, c.board, "Posted").length, 0);
  assert.equal(eventOf(receipt, oracle, "InferenceFulfilled").args.callbackSucceeded, true);
  assert.equal(await c.board.postCount(), posts);
  await revertsWith(c.board.post(SPAM_TEXT, ZeroHash), "NoVerdict");
});

test("a proof answers one request and one input: another request's proof or another input's → WrongRequest; other input words → InputMismatch", async () => {
  const b = await boardSubmit(HAM_TEXT);
  assert.deepEqual(b.input, hamRequest.input, "the same input as request A");
  const expected = clearLabel(await inputCommitment(c.spam, spamSample(HAM_TEXT), nonceOf(b.requestId)));
  const a = hamRequest.answer;
  await revertsWith(asFulfiller.fulfill(b.requestId, b.input, a.proof, a.signals), "WrongRequest", [
    b.requestId,
    clearLabel(a.signals[0]),
    expected,
  ]);
  // a valid proof with B's nonce, about another text
  const other = calldata(await spamProof(HAM_TEXT_2, nonceOf(b.requestId)));
  assert.equal(await c.registry.verify(spamKey, other.proof, other.signals), true);
  await revertsWith(asFulfiller.fulfill(b.requestId, b.input, other.proof, other.signals), "WrongRequest", [
    b.requestId,
    clearLabel(other.signals[0]),
    expected,
  ]);
  // …offered with its own input words: they are not the request's
  await revertsWith(
    asFulfiller.fulfill(b.requestId, spamWords(HAM_TEXT_2), other.proof, other.signals),
    "InputMismatch",
    [b.requestId],
  );
  await revertsWith(asFulfiller.fulfill(b.requestId, [...b.input, 0n], a.proof, a.signals), "InputMismatch", [
    b.requestId,
  ]);
  await revertsWith(asFulfiller.fulfill(b.requestId, b.input.slice(0, 4), a.proof, a.signals), "InputMismatch", [
    b.requestId,
  ]);
  await revertsWith(asFulfiller.fulfill(b.requestId + 100n, b.input, a.proof, a.signals), "NotPending", [
    b.requestId + 100n,
  ]);
  // B's own proof, label flipped: the commitment is B's, the proof is not valid for it
  const answer = await spamAnswer(b);
  await revertsWith(asFulfiller.fulfill(b.requestId, b.input, answer.proof, [answer.signals[0] ^ 1n]), "InvalidProof", [
    spamKey,
  ]);
  await revertsWith(asFulfiller.fulfill(b.requestId, b.input, a.proof, answer.signals), "InvalidProof", [spamKey]);
  await revertsWith(
    asFulfiller.fulfill(b.requestId, b.input, answer.proof, [...answer.signals, 0n]),
    "WrongSignalCount",
    [2n, 1n],
  );
  assert.equal(await status(b.requestId), InferenceOracleStatus.Pending, "nothing above touched B");
  const receipt = await fulfill(b, answer);
  assert.equal(eventOf(receipt, c.board, "Posted").args.text, HAM_TEXT);
});

// ---- the callback's gas

test("callback gas: too little gas for what the consumer asked → NotEnoughGasForCallback; enough → the consumer gets it all", async (t) => {
  const asked = 300_000;
  await mined(consumer.setBurn(200_000));
  const r = await request(spamKey, spamWords(HAM_TEXT_2), consumerAddress, asked);
  const answer = await spamAnswer(r);
  const args = [r.requestId, r.input, answer.proof, answer.signals] as const;
  const needed = await asFulfiller.fulfill.estimateGas(...args);
  t.diagnostic(`fulfill with ${asked} gas of callback: ${needed} gas needed (estimate)`);
  assert.ok(needed > BigInt(asked), `${needed}`);
  // (anvil's estimate may sit up to 1.5% above the least gas that works)
  for (const gasLimit of [needed - 20_000n, needed - 50_000n, needed - 150_000n]) {
    await revertsWith(asFulfiller.fulfill.staticCall(...args, { gasLimit }), "NotEnoughGasForCallback", [
      BigInt(asked),
    ]);
  }
  const receipt = await fulfill(r, answer, { gasLimit: needed });
  assert.equal(eventOf(receipt, oracle, "InferenceFulfilled").args.callbackSucceeded, true);
  const entry = (await consumer.gasAtEntry()) as bigint;
  t.diagnostic(
    `the consumer saw gasleft() = ${entry} on entry, for ${asked} asked (${BigInt(asked) - entry} used before its first statement)`,
  );
  assert.ok(entry <= BigInt(asked) && entry >= BigInt(asked) - 1_000n, `${entry}`);
  assert.equal(await consumer.lastRequest(), r.requestId);
  assert.deepEqual([...(await consumer.lastOutput())], [BigInt(HAM)]);
  assert.ok(receipt.gasUsed > 200_000n + 21_000n, `the burn happened: ${receipt.gasUsed}`);
});

test("a callback that fails (runs out of its gas) does not undo the answer: fulfilled, paid, recorded, callbackSucceeded false", async () => {
  await mined(consumer.setBurn((1n << 256n) - 1n));
  const calls = (await consumer.calls()) as bigint;
  const r = await request(spamKey, spamWords(SPAM_TEXT), consumerAddress, 100_000);
  const answer = await spamAnswer(r);
  const balance = await c.chain.provider.getBalance(c.secondAddress);
  const receipt = await fulfill(r, answer);
  const event = eventOf(receipt, oracle, "InferenceFulfilled");
  assert.equal(event.args.callbackSucceeded, false);
  assert.deepEqual([...event.args.output], [BigInt(SPAM)]);
  assert.equal(await consumer.calls(), calls, "the callback's writes were undone");
  assert.equal(await status(r.requestId), InferenceOracleStatus.Fulfilled);
  assert.equal(await c.chain.provider.getBalance(c.secondAddress), balance + FEE - gasCost(receipt));
  assert.deepEqual([...(await c.registry.inference(spamKey, clearLabel(answer.signals[0])))].slice(0, 2), [
    true,
    BigInt(SPAM),
  ]);
  // a callback to an address without code is no success either
  const eoa = await request(spamKey, spamWords(SPAM_TEXT), c.secondAddress, 50_000);
  const eoaAnswer = await spamAnswer(eoa);
  assert.equal(eventOf(await fulfill(eoa, eoaAnswer), oracle, "InferenceFulfilled").args.callbackSucceeded, false);
  await mined(consumer.setBurn(0));
});

// ---- a decoding step for a consumer

test("a pg-student request: 16 token ids in, the proven next token delivered to the consumer and recorded", async (t) => {
  const prompt = tokenizer.encode("The old man");
  const window = [...new Array(16 - prompt.length).fill(tokenizer.eotId), ...prompt];
  const r = await request(studentKey, window.map(BigInt), consumerAddress, 200_000);
  assert.deepEqual(oracleSample(c.student, r.input), window);
  const bits = c.student.packing.kind === "token-step" ? c.student.packing.nonceBits : 0;
  assert.equal(bits, 253 - 9 * 16);
  const file = await proofOf(STUDENT_DIR, oracleSample(c.student, r.input), nonceOf(r.requestId, bits));
  const answer = calldata(file);
  const token = BigInt(file.output as number);
  const state = window.reduce((acc, id, p) => acc | (BigInt(id) << BigInt(9 * p)), nonceOf(r.requestId, bits) << 144n);
  assert.equal(await oracle.nonceFor(r.requestId, c.secondAddress), nonceOf(r.requestId, bits));
  assert.equal(answer.signals[0], state, "the state the oracle expects: the window and the request id");

  // the same window asked again: this proof answers the first request only
  const again = await request(studentKey, window.map(BigInt), consumerAddress, 200_000);
  const expectedAgain = window.reduce(
    (acc, id, p) => acc | (BigInt(id) << BigInt(9 * p)),
    nonceOf(again.requestId, bits) << 144n,
  );
  await revertsWith(asFulfiller.fulfill(again.requestId, again.input, answer.proof, answer.signals), "WrongRequest", [
    again.requestId,
    state,
    expectedAgain,
  ]);

  const receipt = await fulfill(r, answer);
  const event = eventOf(receipt, oracle, "InferenceFulfilled");
  assert.deepEqual(
    [event.args.inputCommitment, [...event.args.output], event.args.callbackSucceeded],
    [state, [token], true],
  );
  assert.deepEqual([...(await consumer.lastOutput())], [token]);
  assert.equal(await consumer.lastRequest(), r.requestId);
  assert.deepEqual([...(await c.registry.inference(studentKey, state))], [true, token, BigInt(receipt.blockNumber)]);
  t.diagnostic(
    `fulfill of a decoding step: ${receipt.gasUsed} gas; next token ${token} (${JSON.stringify(tokenizer.decode([Number(token)]))})`,
  );
});

// ---- refunds

test("refund: NotExpired before the deadline; after it the requester gets the fee back and the request can no longer be fulfilled", async () => {
  const r = await request(spamKey, spamWords(HAM_TEXT), consumerAddress, 100_000);
  await revertsWith(oracle.refund(r.requestId), "NotExpired", [r.requestId, r.deadline]);
  await c.chain.provider.send("evm_increaseTime", [TIMEOUT_S - 30]);
  await c.chain.provider.send("evm_mine", []);
  await revertsWith(oracle.refund(r.requestId), "NotExpired", [r.requestId, r.deadline]);
  await c.chain.provider.send("evm_increaseTime", [60]);
  await c.chain.provider.send("evm_mine", []);

  const balance = await c.chain.provider.getBalance(c.chain.address);
  const held = await c.chain.provider.getBalance(c.deployment.oracle);
  const receipt = await mined(oracle.refund(r.requestId));
  assert.deepEqual([...eventOf(receipt, oracle, "RequestRefunded").args], [r.requestId, c.chain.address, FEE]);
  assert.equal(
    await c.chain.provider.getBalance(c.chain.address),
    balance + FEE - gasCost(receipt),
    "the fee is back, less the refund's gas",
  );
  assert.equal(await c.chain.provider.getBalance(c.deployment.oracle), held - FEE);
  assert.equal(await status(r.requestId), InferenceOracleStatus.Refunded);
  await revertsWith(oracle.refund(r.requestId), "NotPending", [r.requestId]);
  // a valid proof of it comes too late
  const answer = await spamAnswer(r);
  await revertsWith(asFulfiller.fulfill(r.requestId, r.input, answer.proof, answer.signals), "NotPending", [
    r.requestId,
  ]);
});

// ---- a forged answer to a recorded request, and refunds through a consumer

test("fulfill must not deliver an output that no proof verified, even when the request's commitment is already recorded", async (t) => {
  const r = await boardSubmit(SPAM_TEXT);
  const answer = await spamAnswer(r);
  assert.equal(answer.signals[0] & 0xffffn, BigInt(SPAM));
  // anyone may record the request's valid proof in the registry directly (e.g. copied from the gateway's pending fulfill)…
  await mined((c.registry.connect(c.second) as Contract).verifyAndRecord(spamKey, answer.proof, answer.signals));
  // …and then "fulfil" with the label flipped to ham and no proof at all
  const forged = [clearLabel(answer.signals[0]) | BigInt(HAM)];
  const posts = (await c.board.postCount()) as bigint;
  try {
    await revertsWith(asFulfiller.fulfill(r.requestId, r.input, new Array(8).fill(0n), forged), "WrongOutput");
  } finally {
    t.diagnostic(
      `posts after the forged fulfill: ${await c.board.postCount()} (before: ${posts}); request status ${await status(r.requestId)}`,
    );
  }
});

test("a request made through MessageBoard can be refunded after its deadline, and the board hands the fee to the author", async () => {
  const r = await boardSubmit(HAM_TEXT_2);
  const board = c.board.connect(c.second) as Contract;
  await revertsWith(board.refund(r.requestId), "NotExpired");
  await c.chain.provider.send("evm_increaseTime", [TIMEOUT_S + 1]);
  await c.chain.provider.send("evm_mine", []);
  await mined(oracle.refund(r.requestId));
  assert.equal(await status(r.requestId), InferenceOracleStatus.Refunded);
  assert.equal(
    await c.chain.provider.getBalance(c.deployment.message_board!),
    FEE,
    "the oracle refunded the board, its requester",
  );
  const author = c.chain.address;
  const before = await c.chain.provider.getBalance(author);
  await mined(board.refund(r.requestId)); // anyone may trigger it; the author gets the fee
  assert.equal((await c.chain.provider.getBalance(author)) - before, FEE);
  assert.equal(await c.chain.provider.getBalance(c.deployment.message_board!), 0n);
  await revertsWith(board.refund(r.requestId), "NothingToRefund", [r.requestId]);
});

// ---- front-running: a proof names its fulfiller

const GWEI = 10n ** 9n;

test("a bot copying the gateway's pending fulfill (automine off, higher gas price) is mined first and reverts; the gateway's fulfill succeeds and is paid", async (t) => {
  const bot = trackNonces(new NonceManager(new Wallet(BOT_KEY).connect(c.chain.provider)));
  const botAddress = await bot.getAddress();
  const r = await boardSubmit(HAM_TEXT_2);
  const answer = await spamAnswer(r);
  const fulfillerBalance = await c.chain.provider.getBalance(c.secondAddress);
  const botBalance = await c.chain.provider.getBalance(botAddress);
  await c.chain.provider.send("evm_setAutomine", [false]);
  let gatewayHash: string;
  let botHash: string;
  try {
    const sent = await asFulfiller.fulfill(r.requestId, r.input, answer.proof, answer.signals, {
      gasLimit: 1_500_000n,
      maxFeePerGas: 20n * GWEI,
      maxPriorityFeePerGas: 1n * GWEI,
    });
    gatewayHash = sent.hash;
    // the bot reads the pending transaction and sends its calldata as its own, outbidding it
    const pending = (await c.chain.provider.getTransaction(gatewayHash))!;
    assert.equal(pending.blockNumber, null, "still in the mempool");
    const copy = {
      to: pending.to!,
      data: pending.data,
      gasLimit: 1_500_000n,
      maxFeePerGas: 100n * GWEI,
      maxPriorityFeePerGas: 50n * GWEI,
    };
    // what the copy would do: the nonce it carries names the gateway, not the bot
    const expected = clearLabel(
      await inputCommitment(c.spam, spamSample(HAM_TEXT_2), nonceOf(r.requestId, HASHED_NONCE_BITS, botAddress)),
    );
    await revertsWith(
      (oracle.connect(bot) as Contract).fulfill.staticCall(r.requestId, r.input, answer.proof, answer.signals),
      "WrongRequest",
      [r.requestId, clearLabel(answer.signals[0]), expected],
    );
    botHash = (await bot.sendTransaction(copy)).hash;
    await c.chain.provider.send("evm_mine", []);
  } finally {
    await c.chain.provider.send("evm_setAutomine", [true]);
  }
  const botReceipt = (await c.chain.provider.getTransactionReceipt(botHash))!;
  const gatewayReceipt = (await c.chain.provider.getTransactionReceipt(gatewayHash))!;
  assert.equal(botReceipt.blockNumber, gatewayReceipt.blockNumber, "one block");
  assert.ok(botReceipt.index < gatewayReceipt.index, "the bot's copy ran first");
  assert.equal(botReceipt.status, 0, "the bot's copy reverted");
  assert.equal(gatewayReceipt.status, 1, "the gateway's fulfill succeeded");
  assert.equal(await status(r.requestId), InferenceOracleStatus.Fulfilled);
  assert.equal(eventOf(gatewayReceipt, c.board, "Posted").args.text, HAM_TEXT_2);
  assert.equal(
    await c.chain.provider.getBalance(c.secondAddress),
    fulfillerBalance + FEE - gasCost(gatewayReceipt),
    "the fee went to the fulfiller the nonce names",
  );
  assert.equal(
    await c.chain.provider.getBalance(botAddress),
    botBalance - gasCost(botReceipt),
    "the bot only paid gas",
  );
  t.diagnostic(`the bot's reverted copy cost it ${botReceipt.gasUsed} gas`);
});

test("a bot that records the copied proof in the registry first only records it: the gateway's fulfill still succeeds and is paid", async () => {
  const bot = trackNonces(new NonceManager(new Wallet(BOT_KEY).connect(c.chain.provider)));
  const r = await request(spamKey, spamWords(HAM_TEXT), consumerAddress, 100_000);
  const answer = await spamAnswer(r);
  await mined((c.registry.connect(bot) as Contract).verifyAndRecord(spamKey, answer.proof, answer.signals));
  assert.equal(await status(r.requestId), InferenceOracleStatus.Pending, "recording the proof answers no request");
  // nor can the bot fulfil with it: the proof names the gateway
  await revertsWith(
    (oracle.connect(bot) as Contract).fulfill(r.requestId, r.input, answer.proof, answer.signals),
    "WrongRequest",
  );
  const balance = await c.chain.provider.getBalance(c.secondAddress);
  const receipt = await fulfill(r, answer);
  assert.equal(eventsOf(receipt, c.registry, "InferenceVerified").length, 0, "already recorded: not recorded again");
  assert.deepEqual([...eventOf(receipt, oracle, "InferenceFulfilled").args.output], [BigInt(HAM)]);
  assert.equal(await consumer.lastRequest(), r.requestId);
  assert.equal(await c.chain.provider.getBalance(c.secondAddress), balance + FEE - gasCost(receipt));
});

test("the old nonce (the bare request id) answers nothing any more", async () => {
  const r = await request(spamKey, spamWords(HAM_TEXT), consumerAddress, 100_000);
  const old = calldata(await proofOf(SPAM_DIR, oracleSample(c.spam, r.input), r.requestId));
  await revertsWith(asFulfiller.fulfill(r.requestId, r.input, old.proof, old.signals), "WrongRequest");
  // a proof for this fulfiller on another chain or another oracle does not fit either
  for (const binding of [
    { chainId: 1, oracle: c.deployment.oracle },
    { chainId: c.chain.chainId, oracle: c.deployment.registry },
  ]) {
    const nonce = oracleNonce({ ...binding, requestId: r.requestId, fulfiller: c.secondAddress }, HASHED_NONCE_BITS);
    const other = calldata(await proofOf(SPAM_DIR, oracleSample(c.spam, r.input), nonce));
    await revertsWith(asFulfiller.fulfill(r.requestId, r.input, other.proof, other.signals), "WrongRequest");
  }
  await fulfill(r, await spamAnswer(r));
});

// ---- the callback's gas is paid by whoever asks for it

const PER_GAS = 20n * GWEI;

test("callback gas griefing: the fee grows with the callback gas asked (5 M gas costs the requester 5 M × feePerGas more), capped, set through the timelock", async (t) => {
  await c.governed(oracle, "setService", [spamKey, true, FEE, PER_GAS]);
  assert.equal(await oracle.fee(spamKey, MAX_CALLBACK_GAS), FEE + BigInt(MAX_CALLBACK_GAS) * PER_GAS);
  assert.equal(await oracle.fee(spamKey, 0), FEE);
  const words = spamWords(SPAM_TEXT);
  const owed = FEE + BigInt(MAX_CALLBACK_GAS) * PER_GAS;
  // the flat fee no longer buys 5 M gas of callback
  await revertsWith(
    oracle.requestInference(spamKey, words, consumerAddress, MAX_CALLBACK_GAS, { value: FEE }),
    "WrongFee",
    [FEE, owed],
  );
  await revertsWith(
    oracle.requestInference(spamKey, words, consumerAddress, MAX_CALLBACK_GAS + 1, { value: owed }),
    "CallbackGasTooHigh",
    [BigInt(MAX_CALLBACK_GAS + 1)],
  );
  await mined(consumer.setBurn(MAX_CALLBACK_GAS));
  const r = requested(
    await mined(oracle.requestInference(spamKey, words, consumerAddress, MAX_CALLBACK_GAS, { value: owed })),
  );
  assert.equal((await reader.requests(r.requestId)).fee, owed, "the request holds the whole fee");
  const answer = await spamAnswer(r);
  const balance = await c.chain.provider.getBalance(c.secondAddress);
  const receipt = await fulfill(r, answer, {
    gasLimit: 6_000_000n,
    maxFeePerGas: 15n * GWEI,
    maxPriorityFeePerGas: 1n * GWEI,
  });
  const earned = (await c.chain.provider.getBalance(c.secondAddress)) - balance;
  t.diagnostic(
    `a 5 M gas callback: fulfill used ${receipt.gasUsed} gas at ${receipt.gasPrice} wei/gas; the fulfiller earned ${earned} wei net`,
  );
  assert.ok(receipt.gasUsed > 5_000_000n, `the callback burned its gas: ${receipt.gasUsed}`);
  assert.ok(earned > 0n, "the fee covered the fulfiller's gas");
  // a fee schedule whose largest fee would not fit a request is refused
  const perGas = (1n << 96n) / 1_000_000n;
  await revertsInside(c.governed(oracle, "setService", [spamKey, true, 0n, perGas]), "FeeTooHigh", [
    BigInt(MAX_CALLBACK_GAS) * perGas,
  ]);
  await mined(consumer.setBurn(0));
  await c.governed(oracle, "setService", [spamKey, true, FEE, 0n]);
});

test("the gateway prices a request before it works on it: underpriced → a failed record that says why (numbers), not proven; priced → proven under the gateway's nonce", async () => {
  const store = new MemoryProofStore();
  const scheduler = new ProofScheduler({
    store,
    queue: new MemoryJobQueue(),
    logger: pino({ level: "silent" }),
    submitPolicy: "all",
  });
  const catalog = await CompiledCatalog.open({ roots: ["artifacts/models"], dirs: [] });
  const watcher = new OracleWatcher({
    chain: c.chain,
    deployment: { ...c.deployment, from_block: await c.chain.provider.getBlockNumber() },
    catalog,
    scheduler,
    store,
    logger: pino({ level: "silent" }),
    feeMargin: 1.2,
  });
  // the flat fee of FEE wei covers little callback gas at 1,000 gwei
  await c.chain.provider.send("anvil_setNextBlockBaseFeePerGas", [`0x${(1000n * GWEI).toString(16)}`]);
  await c.chain.provider.send("evm_mine", []);
  const costly = await request(spamKey, spamWords(HAM_TEXT), consumerAddress, 1_000_000);
  await watcher.poll();
  await c.chain.provider.send("anvil_setNextBlockBaseFeePerGas", ["0x1"]);
  await c.chain.provider.send("evm_mine", []);
  const refused = (await store.get(oracleProofId(c.chain.chainId, c.deployment.oracle, costly.requestId)))!;
  assert.equal(refused.status, "failed");
  assert.match(
    refused.error ?? "",
    new RegExp(
      `oracle request ${costly.requestId} is underpriced: its fee of ${FEE} wei does not cover the estimated cost of \\d+ wei = \\(${fulfillGasEstimate(c.spam)} gas to fulfil \\+ 1000000 gas of callback\\) × \\d+ wei/gas × margin 1.2`,
    ),
  );
  assert.equal(refused.steps.length, 0);
  assert.equal((refused.request as { submit: boolean }).submit, false, "nothing goes on-chain for it");
  // once gas is cheap, a request at the same fee is worth answering: proven under this gateway's nonce
  const cheap = await request(spamKey, spamWords(HAM_TEXT), consumerAddress, 100_000);
  await watcher.poll();
  const taken = (await store.get(oracleProofId(c.chain.chainId, c.deployment.oracle, cheap.requestId)))!;
  assert.equal(taken.status, "queued");
  assert.equal(
    (taken.request as { nonce: string }).nonce,
    nonceOf(cheap.requestId, HASHED_NONCE_BITS, c.chain.address).toString(),
  );
  await watcher.poll(); // the same blocks again: nothing twice
  assert.equal((await store.findByStatus({ statuses: ["queued", "failed"], limit: 100 })).length, 2);
  await c.chain.provider.send("evm_increaseTime", [TIMEOUT_S + 1]);
  await c.chain.provider.send("evm_mine", []);
  await mined(oracle.refund(costly.requestId)); // the requester takes the fee back
});

test("fulfillGasEstimate covers a measured fulfill with no callback work (a classifier; a decoding step)", async (t) => {
  const spam = await request(spamKey, spamWords(HAM_TEXT_2), c.secondAddress, 0);
  const spamReceipt = await fulfill(spam, await spamAnswer(spam));
  const window = new Array(16).fill(tokenizer.eotId);
  const step = await request(studentKey, window.map(BigInt), c.secondAddress, 0);
  const bits = c.student.packing.kind === "token-step" ? c.student.packing.nonceBits : 0;
  const stepAnswer = calldata(await proofOf(STUDENT_DIR, window, nonceOf(step.requestId, bits)));
  const stepReceipt = await fulfill(step, stepAnswer);
  t.diagnostic(
    `fulfill without callback: pg-spam ${spamReceipt.gasUsed} gas (estimate ${fulfillGasEstimate(c.spam)}), pg-student ${stepReceipt.gasUsed} (estimate ${fulfillGasEstimate(c.student)})`,
  );
  assert.ok(spamReceipt.gasUsed <= fulfillGasEstimate(c.spam));
  assert.ok(stepReceipt.gasUsed <= fulfillGasEstimate(c.student));
});
