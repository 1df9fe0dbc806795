/**
 * MessageBoard's verdicts bind the exact text, on a real anvil with real pg-spam proofs. The
 * classifier sees a set of hashed words, so a reordered text, or one whose words fall into the same
 * buckets, has the same features and the same ham verdict; what tells them apart is the nonce, which
 * commits to the text's bytes (and a salt). And a verdict obtained through the oracle serves its
 * requester only: someone who proves the request himself and races to `post` gets nothing.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { id as keccakText, NonceManager, Wallet, ZeroHash, type Contract } from "ethers";
import { oracleSample } from "../../src/chain/oracle-watcher.js";
import { HASHED_NONCE_BITS, oracleNonce, requestNonce, textContentHash } from "../../src/core/request-binding.js";
import { fnv1a32, SPAM_FEATURIZER } from "../../src/model/spam-features.js";
import {
  BOT_KEY,
  calldata,
  eventOf,
  HAM,
  HAM_TEXT,
  HAM_TEXT_2,
  mined,
  openTestChain,
  proofOf,
  revertsWith,
  SPAM_DIR,
  spamProof,
  spamSample,
  trackNonces,
  type TestChain,
} from "./chain.fixture.js";

const FEE = 10n ** 15n;
const TIMEOUT_S = 600;
const SALT = keccakText("message board salt");

let c: TestChain;
let bot: NonceManager;
let botAddress: string;

before(async () => {
  c = await openTestChain({ feeWei: FEE, timeoutS: TIMEOUT_S });
  bot = trackNonces(new NonceManager(new Wallet(BOT_KEY).connect(c.chain.provider)));
  botAddress = await bot.getAddress();
});

after(async () => {
  await c?.close();
});

const bucket = (word: string) => fnv1a32(new TextEncoder().encode(word)) % SPAM_FEATURIZER.buckets;

/** A text with none of `text`'s words whose words fill exactly the same buckets: found by counting up through words. */
function collidingText(text: string): string {
  const words = [...new Set(text.toLowerCase().match(/[a-z0-9]+/g) ?? [])];
  const wanted = new Map(words.map((w) => [bucket(w), w]));
  const found = new Map<number, string>();
  for (let n = 0; found.size < wanted.size; n++) {
    const candidate = `q${n.toString(36)}`;
    const b = bucket(candidate);
    if (wanted.has(b) && !found.has(b) && !words.includes(candidate)) found.set(b, candidate);
  }
  return [...found.values()].join(" ");
}

/** A ham verdict about `text` recorded as the gateway records one: nonce = requestNonce(textContentHash(text), salt). */
async function recordVerdict(text: string, salt: string): Promise<bigint> {
  const nonce = requestNonce(textContentHash(text), salt, HASHED_NONCE_BITS);
  const answer = calldata(await spamProof(text, nonce));
  assert.equal(answer.signals[0] & 0xffffn, BigInt(HAM));
  await mined(c.registry.verifyAndRecord(c.spamKey, answer.proof, answer.signals));
  return (answer.signals[0] >> 16n) << 16n;
}

test("a reordered text and a text of other words in the same buckets have the verdict's features, yet cannot post under it", async () => {
  const reordered = HAM_TEXT.split(" ").reverse().join(" ");
  const colliding = collidingText(HAM_TEXT);
  for (const other of [reordered, colliding]) {
    assert.notEqual(other, HAM_TEXT);
    assert.deepEqual(
      spamSample(other),
      spamSample(HAM_TEXT),
      `the classifier cannot tell "${other}" from the original`,
    );
  }
  const commitment = await recordVerdict(HAM_TEXT, SALT);
  for (const other of [reordered, colliding]) {
    const nonce = await c.board.textNonce(other, SALT);
    assert.notEqual(nonce, requestNonce(textContentHash(HAM_TEXT), SALT, HASHED_NONCE_BITS));
    await revertsWith(c.board.post(other, SALT), "NoVerdict", [await c.board.inputCommitment(other, nonce)]);
  }
  // the original under another salt is another request, which nobody proved
  await revertsWith(c.board.post(HAM_TEXT, ZeroHash), "NoVerdict");
  const receipt = await mined(c.board.post(HAM_TEXT, SALT));
  assert.deepEqual([...eventOf(receipt, c.board, "Posted").args].slice(1), [c.chain.address, 0n, commitment, HAM_TEXT]);
  await revertsWith(c.board.post(HAM_TEXT, SALT), "VerdictUsed", [commitment]);
});

test("the oracle path: an attacker who proves the request himself and races to post gets nothing; the author's request completes", async () => {
  const author = c.chain.address;
  const receipt = await mined(c.board.submit(HAM_TEXT_2, 500_000, { value: FEE }));
  const event = eventOf(receipt, c.oracle, "InferenceRequested");
  const requestId = event.args.requestId as bigint;
  const input = [...(event.args.input as bigint[])];
  const sample = oracleSample(c.spam, input);
  const asBot = c.board.connect(bot) as Contract;
  const posts = (await c.board.postCount()) as bigint;
  const binding = { chainId: c.chain.chainId, oracle: c.deployment.oracle, requestId };
  // every nonce the attacker could prove the request's input under: the bare id (the old scheme), the
  // nonce naming the gateway (copied from its pending fulfill), the one naming himself
  for (const nonce of [
    requestId,
    oracleNonce({ ...binding, fulfiller: c.secondAddress }, HASHED_NONCE_BITS),
    oracleNonce({ ...binding, fulfiller: botAddress }, HASHED_NONCE_BITS),
  ]) {
    const answer = calldata(await proofOf(SPAM_DIR, sample, nonce));
    await mined((c.registry.connect(bot) as Contract).verifyAndRecord(c.spamKey, answer.proof, answer.signals));
    // post derives its nonce from the text and a salt: no salt reaches an oracle nonce
    for (const salt of [
      ZeroHash,
      `0x${requestId.toString(16).padStart(64, "0")}`,
      `0x${nonce.toString(16).padStart(64, "0")}`,
    ]) {
      await revertsWith(asBot.post(HAM_TEXT_2, salt), "NoVerdict");
    }
  }
  assert.equal(await c.board.postCount(), posts, "nothing posted by the attacker");
  // the gateway (account #1) fulfils with its own nonce; the verdict is already recorded, the post is the author's
  const answer = calldata(
    await proofOf(SPAM_DIR, sample, oracleNonce({ ...binding, fulfiller: c.secondAddress }, HASHED_NONCE_BITS)),
  );
  const fulfilled = await mined(
    (c.oracle.connect(c.second) as Contract).fulfill(requestId, input, answer.proof, answer.signals),
  );
  assert.deepEqual([...eventOf(fulfilled, c.board, "Posted").args], [posts, author, requestId, 0n, HAM_TEXT_2]);
  assert.deepEqual([...(await c.board.posts(posts))], [author, HAM_TEXT_2]);
});

test("the oracle path, attacker fulfilling under his own nonce: that is a fulfilment; the post is still the author's", async () => {
  const author = c.chain.address;
  const receipt = await mined(c.board.submit(HAM_TEXT, 500_000, { value: FEE }));
  const event = eventOf(receipt, c.oracle, "InferenceRequested");
  const requestId = event.args.requestId as bigint;
  const input = [...(event.args.input as bigint[])];
  const nonce = oracleNonce(
    { chainId: c.chain.chainId, oracle: c.deployment.oracle, requestId, fulfiller: botAddress },
    HASHED_NONCE_BITS,
  );
  const answer = calldata(await proofOf(SPAM_DIR, oracleSample(c.spam, input), nonce));
  const fulfilled = await mined(
    (c.oracle.connect(bot) as Contract).fulfill(requestId, input, answer.proof, answer.signals),
  );
  const posted = eventOf(fulfilled, c.board, "Posted");
  assert.deepEqual([...posted.args].slice(1), [author, requestId, 0n, HAM_TEXT]);
});
