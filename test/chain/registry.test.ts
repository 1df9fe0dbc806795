/**
 * InferenceRegistry (as ProofgateRegistry, with pg-spam and pg-student built in) on a real anvil, with
 * real Groth16 proofs: verify-and-record of classifier verdicts, every way a proof or its signals can
 * be wrong, replays, registration through an external snarkjs verifier, batch-verified traces of
 * decoding steps, and MessageBoard's direct `post`, an example consumer that reads the records
 * (CompletionStore has its own file, completion-store.test.ts).
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { id as keccakText, keccak256, solidityPacked, type Contract } from "ethers";
import { contract } from "../../src/chain/contract-build.js";
import { HASHED_NONCE_BITS, requestNonce, textContentHash } from "../../src/core/request-binding.js";
import { Tokenizer, type TokenizerJSON } from "../../src/model/tokenizer.js";
import { inputCommitment } from "../../src/witness/circuit-input.js";
import {
  calldata,
  eventOf,
  eventsOf,
  HAM,
  HAM_TEXT,
  HAM_TEXT_2,
  mined,
  openTestChain,
  Q,
  R,
  revertOf,
  revertsInside,
  revertsWith,
  SPAM,
  SPAM_DIR,
  SPAM_TEXT,
  spamProof,
  spamSample,
  STUDENT_DIR,
  studentSteps,
  type Calldata,
  type TestChain,
} from "./chain.fixture.js";

/** Verdicts asked for as the gateway asks: the nonce binds the exact text and a salt (MessageBoard.post checks it). */
const HAM_SALT = keccakText("ham salt");
const SPAM_SALT = keccakText("spam salt");
const HAM_NONCE = requestNonce(textContentHash(HAM_TEXT), HAM_SALT, HASHED_NONCE_BITS);
const SPAM_NONCE = requestNonce(textContentHash(SPAM_TEXT), SPAM_SALT, HASHED_NONCE_BITS);
const TRACE_NONCE = 0x7ace_0001n;
const STEPS = 16;
const PROMPT = "The old man and the";
const LABEL_BITS = 16n;
const CLASSIFY = 2;

let c: TestChain;
let registry: Contract;
let spamKey: string;
let studentKey: string;
let tokenizer: Tokenizer;

before(async () => {
  c = await openTestChain({ feeWei: 10n ** 15n, timeoutS: 600 });
  ({ registry, spamKey, studentKey } = c);
  tokenizer = Tokenizer.fromJSON(JSON.parse(await readFile(`${STUDENT_DIR}/tokenizer.json`, "utf8")) as TokenizerJSON);
});

after(async () => {
  await c?.close();
});

const clearLabel = (claim: bigint) => (claim >> LABEL_BITS) << LABEL_BITS;

/** The proof words with word `k` replaced. */
function withWord(proof: readonly bigint[], k: number, value: bigint): bigint[] {
  return proof.map((w, i) => (i === k ? value : w));
}

/** Proofs that are not the proof of these signals, each named: a curve point or not, canonical or not. */
function tamperedProofs(valid: readonly bigint[], other: readonly bigint[]): [string, bigint[]][] {
  return [
    ["A of another valid proof", [other[0], other[1], ...valid.slice(2)]],
    ["A.x + 1 (off the curve)", withWord(valid, 0, (valid[0] + 1n) % Q)],
    ["-A (on the curve)", withWord(valid, 1, Q - valid[1])],
    ["-C (on the curve)", withWord(valid, 7, Q - valid[7])],
    [
      "B with its Fp2 halves in snarkjs's order",
      [valid[0], valid[1], valid[3], valid[2], valid[5], valid[4], valid[6], valid[7]],
    ],
    ["C of another valid proof", [...valid.slice(0, 6), other[6], other[7]]],
    ["A.x ≥ the base field modulus", withWord(valid, 0, valid[0] + Q)],
    ["all zeros", new Array(8).fill(0n)],
  ];
}

// ---- one classifier verdict

let ham: Calldata;
let hamCommitment: bigint;
let spam: Calldata;

test("a valid pg-spam proof is verified and recorded: InferenceVerified, inference() and decode() agree", async (t) => {
  const file = await spamProof(HAM_TEXT, HAM_NONCE);
  assert.equal(file.output, HAM, "the shipped classifier calls HAM_TEXT ham");
  ham = calldata(file);
  assert.equal(ham.signals.length, 1);
  hamCommitment = clearLabel(ham.signals[0]);
  assert.equal(
    hamCommitment,
    clearLabel(await inputCommitment(c.spam, spamSample(HAM_TEXT), HAM_NONCE)),
    "the commitment the TS side computes",
  );
  assert.deepEqual([...(await registry.decode(spamKey, ham.signals))], [hamCommitment, BigInt(HAM)]);
  assert.equal(await registry.verify(spamKey, ham.proof, ham.signals), true);
  assert.deepEqual([...(await registry.inference(spamKey, hamCommitment))], [false, 0n, 0n]);

  const receipt = await mined(registry.verifyAndRecord(spamKey, ham.proof, ham.signals));
  const event = eventOf(receipt, registry, "InferenceVerified");
  assert.deepEqual([...event.args], [spamKey, hamCommitment, BigInt(HAM)]);
  assert.deepEqual(
    [...(await registry.inference(spamKey, hamCommitment))],
    [true, BigInt(HAM), BigInt(receipt.blockNumber)],
  );
  t.diagnostic(`verifyAndRecord (built-in pg-spam key): ${receipt.gasUsed} gas, the whole transaction`);
  assert.ok(receipt.gasUsed > 150_000n && receipt.gasUsed < 400_000n, `${receipt.gasUsed} gas`);

  // and a spam verdict, which MessageBoard must refuse below
  const spamFile = await spamProof(SPAM_TEXT, SPAM_NONCE);
  assert.equal(spamFile.output, SPAM, "the shipped classifier calls SPAM_TEXT spam");
  spam = calldata(spamFile);
  const spamReceipt = await mined(registry.verifyAndRecord(spamKey, spam.proof, spam.signals));
  assert.deepEqual(
    [...eventOf(spamReceipt, registry, "InferenceVerified").args],
    [spamKey, clearLabel(spam.signals[0]), BigInt(SPAM)],
  );
  assert.deepEqual(
    [...(await registry.inference(spamKey, clearLabel(spam.signals[0])))],
    [true, BigInt(SPAM), BigInt(spamReceipt.blockNumber)],
  );
});

test("a tampered proof is rejected: verify() is false and verifyAndRecord reverts InvalidProof", async () => {
  for (const [what, proof] of tamperedProofs(ham.proof, spam.proof)) {
    assert.equal(await registry.verify(spamKey, proof, ham.signals), false, what);
    await revertsWith(registry.verifyAndRecord(spamKey, proof, ham.signals), "InvalidProof", [spamKey]);
  }
});

test("a tampered public signal is rejected: the label bits, a commitment bit", async () => {
  const other = (label: number) => [clearLabel(ham.signals[0]) | BigInt(label)];
  for (const [what, signals] of [
    ["label flipped to spam", other(SPAM)],
    ["label 2 (no such class)", other(2)],
    ["label 0xffff", other(0xffff)],
    ["commitment bit 100 flipped", [ham.signals[0] ^ (1n << 100n)]],
    ["another proof's claim", spam.signals],
  ] as const) {
    assert.equal(await registry.verify(spamKey, ham.proof, signals), false, what);
    await revertsWith(registry.verifyAndRecord(spamKey, ham.proof, signals), "InvalidProof", [spamKey]);
  }
});

test("a public signal not below the field modulus is rejected, though s + r is the same scalar to the curve", async () => {
  for (const signal of [ham.signals[0] + R, R, (1n << 256n) - 1n]) {
    assert.equal(await registry.verify(spamKey, ham.proof, [signal]), false, String(signal));
    await revertsWith(registry.verifyAndRecord(spamKey, ham.proof, [signal]), "InvalidProof", [spamKey]);
  }
});

test("the wrong number of public signals reverts WrongSignalCount", async () => {
  for (const signals of [[], [ham.signals[0], 0n], [ham.signals[0], ham.signals[0], 1n]]) {
    const args = [BigInt(signals.length), 1n];
    await revertsWith(registry.verifyAndRecord(spamKey, ham.proof, signals), "WrongSignalCount", args);
    await revertsWith(registry.verify(spamKey, ham.proof, signals), "WrongSignalCount", args);
    await revertsWith(registry.decode(spamKey, signals), "WrongSignalCount", args);
  }
});

test("a replay reverts AlreadyRecorded: the same proof, another proof of the same sample and nonce, another encoding of A", async (t) => {
  await revertsWith(registry.verifyAndRecord(spamKey, ham.proof, ham.signals), "AlreadyRecorded", [
    spamKey,
    hamCommitment,
  ]);
  const again = calldata(await spamProof(HAM_TEXT, HAM_NONCE, 1));
  assert.notDeepEqual(again.proof, ham.proof, "snarkjs re-randomizes every proof");
  assert.deepEqual(again.signals, ham.signals);
  assert.equal(await registry.verify(spamKey, again.proof, again.signals), true);
  await revertsWith(registry.verifyAndRecord(spamKey, again.proof, again.signals), "AlreadyRecorded", [
    spamKey,
    hamCommitment,
  ]);
  // A.y + q + (2^256 mod q) < 2^256: Q - A.y' wraps mod 2^256 to 5q - A.y, which mod q is -A.y
  const aliased = withWord(ham.proof, 1, ham.proof[1] + Q + ((1n << 256n) % Q));
  assert.ok(aliased[1] < 1n << 256n);
  t.diagnostic(
    `a non-canonical A.y encoding of a valid proof: verify() = ${await registry.verify(spamKey, aliased, ham.signals)}`,
  );
  await assert.rejects(registry.verifyAndRecord.staticCall(spamKey, aliased, ham.signals), (err: unknown) => {
    assert.ok(["AlreadyRecorded", "InvalidProof"].includes(revertOf(err)?.name ?? ""), String(err));
    return true;
  });
  assert.deepEqual(
    [...(await registry.inference(spamKey, hamCommitment))].slice(0, 2),
    [true, BigInt(HAM)],
    "the record is unchanged",
  );
});

test("an unknown model key reverts UnknownModel everywhere", async () => {
  const unknown = keccakText("no such model");
  await revertsWith(registry.verifyAndRecord(unknown, ham.proof, ham.signals), "UnknownModel", [unknown]);
  await revertsWith(registry.verify(unknown, ham.proof, ham.signals), "UnknownModel", [unknown]);
  await revertsWith(registry.decode(unknown, ham.signals), "UnknownModel", [unknown]);
  await revertsWith(registry.verifyBatch(unknown, [ham.proof], ham.signals), "UnknownModel", [unknown]);
  await revertsWith(registry.recordTraces(unknown, [ham.proof], [0n, 0n], [1]), "UnknownModel", [unknown]);
  assert.deepEqual([...(await registry.inference(unknown, hamCommitment))], [false, 0n, 0n]);
  assert.equal(await registry.modelField(unknown), 0n);
});

// ---- registration and the external-verifier path

let verifier: string;
const EXTERNAL_KEY = keccakText("external pg-spam");

test("registerModel: owner (the timelock) only, append-only, a verifier with code, a known kind", async () => {
  assert.equal(await registry.owner(), c.deployment.timelock.address);
  const compiled = contract(c.artifact, `${SPAM_DIR}/Verifier.sol:Groth16Verifier`);
  verifier = await (await c.deploy(compiled.abi, compiled.bytecode)).getAddress();
  const field = BigInt(c.spam.model_id_field);
  const asSecond = registry.connect(c.second) as Contract;
  // neither the deployer (the gateway's key) nor anyone else registers directly
  for (const as of [registry, asSecond])
    await revertsWith(as.registerModel(EXTERNAL_KEY, verifier, CLASSIFY, 1, 16, 0, field), "NotOwner", []);
  const owned = (args: unknown[]) => c.governed(registry, "registerModel", args);
  await revertsInside(owned([spamKey, verifier, CLASSIFY, 1, 16, 0, field]), "AlreadyRegistered", [spamKey]);
  await revertsInside(owned([studentKey, verifier, 1, 2, 9, 16, field]), "AlreadyRegistered", [studentKey]);
  await revertsInside(owned([EXTERNAL_KEY, c.secondAddress, CLASSIFY, 1, 16, 0, field]), "NoVerifierCode", [
    c.secondAddress,
  ]);
  await revertsInside(owned([EXTERNAL_KEY, verifier, 0, 1, 16, 0, field]), "UnknownModel", [EXTERNAL_KEY]);
  await revertsWith(asSecond.transferOwnership(c.secondAddress), "NotOwner", []);
  // the built-in keys as deployed
  assert.deepEqual([...(await registry.models(spamKey))].slice(1, 5), [2n, 1n, 16n, 0n]);
  assert.deepEqual([...(await registry.models(studentKey))].slice(1, 5), [1n, 2n, 9n, 16n]);
  assert.equal(await registry.modelField(spamKey), field);
  assert.equal(await registry.modelField(studentKey), BigInt(c.student.model_id_field));
});

test("an external snarkjs verifier: registered under a fresh key, verifyAndRecord works through it, tampering still fails", async (t) => {
  const field = BigInt(c.spam.model_id_field);
  const registered = (await c.governed(registry, "registerModel", [EXTERNAL_KEY, verifier, CLASSIFY, 1, 16, 0, field]))
    .executed;
  assert.deepEqual(
    [...eventOf(registered, registry, "ModelRegistered").args],
    [EXTERNAL_KEY, verifier, BigInt(CLASSIFY), field],
  );
  const [at, kind, signals, bits, context, selector] = (await registry.models(EXTERNAL_KEY)) as [
    string,
    bigint,
    bigint,
    bigint,
    bigint,
    string,
  ];
  assert.deepEqual([at, kind, signals, bits, context], [verifier, 2n, 1n, 16n, 0n]);
  assert.equal(selector, keccakText("verifyProof(uint256[2],uint256[2][2],uint256[2],uint256[1])").slice(0, 10));
  await revertsInside(
    c.governed(registry, "registerModel", [EXTERNAL_KEY, verifier, CLASSIFY, 1, 16, 0, field]),
    "AlreadyRegistered",
    [EXTERNAL_KEY],
  );

  assert.equal(await registry.verify(EXTERNAL_KEY, ham.proof, ham.signals), true);
  for (const [what, proof] of tamperedProofs(ham.proof, spam.proof)) {
    assert.equal(await registry.verify(EXTERNAL_KEY, proof, ham.signals), false, what);
    await revertsWith(registry.verifyAndRecord(EXTERNAL_KEY, proof, ham.signals), "InvalidProof", [EXTERNAL_KEY]);
  }
  await revertsWith(registry.verifyAndRecord(EXTERNAL_KEY, ham.proof, [ham.signals[0] ^ 1n]), "InvalidProof", [
    EXTERNAL_KEY,
  ]);
  assert.equal(await registry.verify(EXTERNAL_KEY, ham.proof, [ham.signals[0] + R]), false);
  await revertsWith(registry.verifyAndRecord(EXTERNAL_KEY, ham.proof, [ham.signals[0], 0n]), "WrongSignalCount", [
    2n,
    1n,
  ]);

  // a record is per (model key, commitment): the verdict recorded under the built-in key is new here
  const receipt = await mined(registry.verifyAndRecord(EXTERNAL_KEY, ham.proof, ham.signals));
  assert.deepEqual(
    [...eventOf(receipt, registry, "InferenceVerified").args],
    [EXTERNAL_KEY, hamCommitment, BigInt(HAM)],
  );
  assert.deepEqual(
    [...(await registry.inference(EXTERNAL_KEY, hamCommitment))],
    [true, BigInt(HAM), BigInt(receipt.blockNumber)],
  );
  t.diagnostic(`verifyAndRecord through the external snarkjs verifier: ${receipt.gasUsed} gas`);
  await revertsWith(registry.verifyAndRecord(EXTERNAL_KEY, ham.proof, ham.signals), "AlreadyRecorded", [
    EXTERNAL_KEY,
    hamCommitment,
  ]);
  // a batch of classifier proofs through the external verifier (one call per proof)
  assert.equal(
    await registry.verifyBatch(EXTERNAL_KEY, [ham.proof, spam.proof], [...ham.signals, ...spam.signals]),
    true,
  );
  assert.equal(
    await registry.verifyBatch(EXTERNAL_KEY, [spam.proof, ham.proof], [...ham.signals, ...spam.signals]),
    false,
  );
  await revertsWith(registry.recordTraces(EXTERNAL_KEY, [ham.proof], [0n, 0n], [1]), "NotTokenStep", [EXTERNAL_KEY]);
});

// ---- MessageBoard's direct path: a verdict already in the registry

test("MessageBoard.post publishes a text whose ham verdict is recorded, once; refuses spam and texts or salts without a verdict", async () => {
  const board = c.board;
  assert.equal(await board.REQUEST_DOMAIN(), keccakText("proofgate.request.v1"));
  assert.equal(
    await board.textNonce(HAM_TEXT, HAM_SALT),
    HAM_NONCE,
    "the board derives the nonce as request-binding.ts does",
  );
  assert.equal(
    await board.inputCommitment(HAM_TEXT, HAM_NONCE),
    hamCommitment,
    "the board's commitment is the TS side's",
  );
  assert.equal(await board.inputCommitment(SPAM_TEXT, SPAM_NONCE), clearLabel(spam.signals[0]));
  assert.equal(await board.postCount(), 0n);

  const receipt = await mined(board.post(HAM_TEXT, HAM_SALT));
  assert.deepEqual([...eventOf(receipt, board, "Posted").args], [0n, c.chain.address, 0n, hamCommitment, HAM_TEXT]);
  assert.equal(await board.postCount(), 1n);
  assert.deepEqual([...(await board.posts(0))], [c.chain.address, HAM_TEXT]);
  assert.equal(await board.used(hamCommitment), true);

  await revertsWith(board.post(HAM_TEXT, HAM_SALT), "VerdictUsed", [hamCommitment]);
  await revertsWith(board.post(SPAM_TEXT, SPAM_SALT), "Spam", [clearLabel(spam.signals[0])]);
  for (const [text, salt] of [
    [HAM_TEXT, SPAM_SALT],
    [HAM_TEXT_2, HAM_SALT],
    [SPAM_TEXT, HAM_SALT],
    [`${HAM_TEXT} `, HAM_SALT],
  ] as const) {
    await revertsWith(board.post(text, salt), "NoVerdict", [
      await board.inputCommitment(text, await board.textNonce(text, salt)),
    ]);
  }
  assert.equal(await board.postCount(), 1n);
});

// ---- traces of decoding steps, verified in one batch

let steps: Calldata[];
let tokens: number[];
let proofs: bigint[][];
let signals: bigint[];
let promptState: bigint;

const signalsOf = (list: readonly Calldata[]) => list.flatMap((s) => s.signals);
const proofsOf = (list: readonly Calldata[]) => list.map((s) => s.proof);
const tokensHash = (list: readonly (number | bigint)[]) =>
  keccak256(
    solidityPacked(
      list.map(() => "uint256"),
      list,
    ),
  );

test(`${STEPS} consecutive pg-student steps (one nonce) verify as one batch`, async (t) => {
  const prompt = tokenizer.encode(PROMPT);
  assert.ok(prompt.length <= 16, `${prompt.length} prompt tokens`);
  const window = [...new Array(16 - prompt.length).fill(tokenizer.eotId), ...prompt];
  const started = performance.now();
  const files = await studentSteps(window, TRACE_NONCE, STEPS);
  t.diagnostic(`${STEPS} pg-student step proofs: ${Math.round(performance.now() - started)} ms`);
  steps = files.map(calldata);
  tokens = files.map((f) => f.output as number);
  proofs = proofsOf(steps);
  signals = signalsOf(steps);
  promptState = steps[0].signals[0];
  for (let k = 1; k < STEPS; k++)
    assert.equal(steps[k].signals[0], steps[k - 1].signals[1], `step ${k} starts where step ${k - 1} ended`);
  assert.equal(promptState >> 144n, TRACE_NONCE);
  assert.equal(await registry.verifyBatch(studentKey, proofs, signals), true);
  // every step also verifies alone, and a prefix or a single step verifies as a batch
  assert.equal(await registry.verify(studentKey, steps[5].proof, steps[5].signals), true);
  assert.equal(await registry.verifyBatch(studentKey, proofs.slice(0, 1), signals.slice(0, 2)), true);
  assert.equal(await registry.verifyBatch(studentKey, proofs.slice(3, 7), signals.slice(6, 14)), true);
});

test("one proof replaced, or one signal altered, fails the batch: verifyBatch is false and recordTraces reverts InvalidProof", async () => {
  const cases: [string, bigint[][], bigint[]][] = [
    ["step 5's proof replaced by step 6's", proofs.map((p, k) => (k === 5 ? proofs[6] : p)), signals],
    ["step 0's proof replaced by step 1's", proofs.map((p, k) => (k === 0 ? proofs[1] : p)), signals],
    ["the last proof's A negated", proofs.map((p, k) => (k === STEPS - 1 ? withWord(p, 1, Q - p[1]) : p)), signals],
    ["step 7's proof replaced by a pg-spam proof", proofs.map((p, k) => (k === 7 ? ham.proof : p)), signals],
    // the chain still holds (step 8 starts from the altered state) but step 7 did not end there
    [
      "step 7's next token altered",
      proofs,
      signals.map((s, i) => (i === 2 * 7 + 1 || i === 2 * 8 ? s ^ (1n << 135n) : s)),
    ],
    ["step 0's nonce altered", proofs, signals.map((s, i) => (i === 0 ? s ^ (1n << 144n) : s))],
    ["step 3's state_in + r", proofs, signals.map((s, i) => (i === 6 ? s + R : s))],
    [
      "two proofs swapped with their signals kept",
      proofs.map((p, k) => (k === 2 ? proofs[3] : k === 3 ? proofs[2] : p)),
      signals,
    ],
  ];
  for (const [what, p, s] of cases) {
    assert.equal(await registry.verifyBatch(studentKey, p, s), false, what);
    await revertsWith(registry.recordTraces(studentKey, p, s, [STEPS]), "InvalidProof", [studentKey]);
  }
  assert.equal(await registry.verifyBatch(studentKey, [], []), false, "an empty batch");
  assert.equal(await registry.verifyBatch(studentKey, proofs, signals.slice(1)), false, "one signal short");
  await revertsWith(registry.recordTraces(studentKey, proofs, signals.slice(2), [STEPS]), "WrongSignalCount", [
    BigInt(2 * STEPS - 2),
    BigInt(2 * STEPS),
  ]);
  await revertsWith(registry.recordTraces(spamKey, [ham.proof], ham.signals, [1]), "NotTokenStep", [spamKey]);
});

test("valid steps that do not chain revert BrokenTrace: out of order, one missing, two traces under one length", async () => {
  const reorder = (order: number[]) => order.map((k) => steps[k]);
  const swapped = reorder([0, 1, 2, 4, 3, ...Array.from({ length: STEPS - 5 }, (_, i) => i + 5)]);
  assert.equal(
    await registry.verifyBatch(studentKey, proofsOf(swapped), signalsOf(swapped)),
    true,
    "each proof is valid",
  );
  await revertsWith(registry.recordTraces(studentKey, proofsOf(swapped), signalsOf(swapped), [STEPS]), "BrokenTrace", [
    3n,
  ]);
  const missing = steps.filter((_, k) => k !== 5);
  await revertsWith(
    registry.recordTraces(studentKey, proofsOf(missing), signalsOf(missing), [STEPS - 1]),
    "BrokenTrace",
    [5n],
  );
  const reversed = [...steps].reverse();
  await revertsWith(
    registry.recordTraces(studentKey, proofsOf(reversed), signalsOf(reversed), [STEPS]),
    "BrokenTrace",
    [1n],
  );
  // two separate pieces as one trace: the break is at the batch position where the second starts
  const pieces = [...steps.slice(0, 4), ...steps.slice(8, 12)];
  await revertsWith(registry.recordTraces(studentKey, proofsOf(pieces), signalsOf(pieces), [8]), "BrokenTrace", [4n]);
  // …and in the second trace of a call, counted from the batch's start
  await revertsWith(registry.recordTraces(studentKey, proofsOf(pieces), signalsOf(pieces), [2, 6]), "BrokenTrace", [
    4n,
  ]);
});

test("lengths that do not split the batch revert BadTraceLengths", async () => {
  for (const lengths of [[], [0, STEPS], [STEPS, 0], [STEPS - 1], [8, 7], [8, 9], [STEPS + 1], [1, 2, 3]]) {
    await revertsWith(registry.recordTraces(studentKey, proofs, signals, lengths), "BadTraceLengths", []);
  }
  assert.equal(await registry.traceBlock(studentKey, promptState, tokensHash(tokens)), 0n, "nothing recorded");
});

test(`recordTraces records the ${STEPS}-step trace: TraceVerified with its tokens, traceBlock and isTraceVerified agree`, async (t) => {
  const receipt = await mined(registry.recordTraces(studentKey, proofs, signals, [STEPS]));
  const event = eventOf(receipt, registry, "TraceVerified");
  const hash = tokensHash(tokens);
  assert.equal(event.args.model, studentKey);
  assert.equal(event.args.promptState, promptState);
  assert.equal(event.args.tokensHash, hash);
  assert.deepEqual([...event.args.tokens], tokens.map(BigInt));
  assert.equal(await registry.traceBlock(studentKey, promptState, hash), BigInt(receipt.blockNumber));
  assert.equal(await registry.isTraceVerified(studentKey, promptState, tokens), true);
  assert.equal(await registry.isTraceVerified(studentKey, promptState, tokens.slice(0, STEPS - 1)), false, "a prefix");
  assert.equal(
    await registry.isTraceVerified(studentKey, promptState, [...tokens, tokenizer.eotId]),
    false,
    "one token more",
  );
  assert.equal(
    await registry.isTraceVerified(
      studentKey,
      promptState,
      tokens.map((x, k) => (k === 9 ? (x + 1) % 320 : x)),
    ),
    false,
    "one token changed",
  );
  assert.equal(await registry.isTraceVerified(studentKey, promptState + 1n, tokens), false, "another prompt state");
  assert.equal(
    await registry.isTraceVerified(studentKey, steps[1].signals[0], tokens.slice(1)),
    false,
    "a suffix is no trace of its own",
  );
  const perProof = receipt.gasUsed / BigInt(STEPS);
  t.diagnostic(`recordTraces of ${STEPS} steps: ${receipt.gasUsed} gas, ${perProof} gas per proof (target ≤ 70,000)`);
  t.diagnostic(`generated: ${JSON.stringify(tokenizer.decode(tokens))}`);
  assert.ok(perProof < 150_000n, `${perProof} gas per proof`);
  // a replay, whole or inside a bigger call
  await revertsWith(registry.recordTraces(studentKey, proofs, signals, [STEPS]), "AlreadyRecorded", [
    studentKey,
    promptState,
  ]);
  const more = [...steps.slice(1, 3), ...steps];
  await revertsWith(registry.recordTraces(studentKey, proofsOf(more), signalsOf(more), [2, STEPS]), "AlreadyRecorded", [
    studentKey,
    promptState,
  ]);
  assert.equal(
    await registry.traceBlock(studentKey, steps[1].signals[0], tokensHash(tokens.slice(1, 3))),
    0n,
    "the reverted call left nothing",
  );
});

test("two traces in one call: lengths [4, 3]", async (t) => {
  const first = steps.slice(1, 5);
  const second = steps.slice(9, 12);
  const both = [...first, ...second];
  const receipt = await mined(registry.recordTraces(studentKey, proofsOf(both), signalsOf(both), [4, 3]));
  const events = eventsOf(receipt, registry, "TraceVerified");
  assert.equal(events.length, 2);
  for (const [event, trace, from] of [
    [events[0], first, 1],
    [events[1], second, 9],
  ] as const) {
    const expected = tokens.slice(from, from + trace.length);
    assert.equal(event.args.promptState, trace[0].signals[0]);
    assert.deepEqual([...event.args.tokens], expected.map(BigInt));
    assert.equal(
      await registry.traceBlock(studentKey, trace[0].signals[0], tokensHash(expected)),
      BigInt(receipt.blockNumber),
    );
    assert.equal(await registry.isTraceVerified(studentKey, trace[0].signals[0], expected), true);
  }
  t.diagnostic(`recordTraces of 7 steps as two traces: ${receipt.gasUsed} gas, ${receipt.gasUsed / 7n} per proof`);
});

test("a prefix recorded first (say, by someone who saw the step proofs) does not keep the whole trace out", async () => {
  // steps 1..4 were recorded as a trace above; steps 1..15 are as valid and chain as well
  const longer = steps.slice(1);
  assert.equal(await registry.isTraceVerified(studentKey, steps[1].signals[0], tokens.slice(1)), false);
  await mined(registry.recordTraces(studentKey, proofsOf(longer), signalsOf(longer), [longer.length]));
  assert.equal(await registry.isTraceVerified(studentKey, steps[1].signals[0], tokens.slice(1)), true);
  assert.equal(
    await registry.isTraceVerified(studentKey, steps[1].signals[0], tokens.slice(1, 5)),
    true,
    "the prefix stays recorded",
  );
  await revertsWith(
    registry.recordTraces(studentKey, proofsOf(longer), signalsOf(longer), [longer.length]),
    "AlreadyRecorded",
    [studentKey, steps[1].signals[0]],
  );
});

test("a single decoding step through verifyAndRecord: recorded under its input state, output its token", async (t) => {
  const step = steps[0];
  assert.deepEqual([...(await registry.decode(studentKey, step.signals))], [promptState, BigInt(tokens[0])]);
  const receipt = await mined(registry.verifyAndRecord(studentKey, step.proof, step.signals));
  assert.deepEqual(
    [...eventOf(receipt, registry, "InferenceVerified").args],
    [studentKey, promptState, BigInt(tokens[0])],
  );
  assert.deepEqual(
    [...(await registry.inference(studentKey, promptState))],
    [true, BigInt(tokens[0]), BigInt(receipt.blockNumber)],
  );
  t.diagnostic(`verifyAndRecord (built-in pg-student key, 2 signals): ${receipt.gasUsed} gas`);
  await revertsWith(registry.verifyAndRecord(studentKey, step.proof, step.signals), "AlreadyRecorded", [
    studentKey,
    promptState,
  ]);
  await revertsWith(registry.verifyAndRecord(studentKey, step.proof, step.signals.slice(0, 1)), "WrongSignalCount", [
    1n,
    2n,
  ]);
  await revertsWith(registry.verifyAndRecord(studentKey, steps[1].proof, step.signals), "InvalidProof", [studentKey]);
});
