/**
 * CompletionStore on a real anvil with real pg-student step proofs: a completion is stored only as it
 * was served. The store recomputes the request's nonce (the same abi encoding as
 * src/core/request-binding.ts) and first state from the request it is given, and refuses a trace cut
 * short, one extended past its end (past max_tokens or a stop string), and one shifted so that
 * generated tokens pose as prompt, although each of those is a trace the registry verified.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { AbiCoder, keccak256, solidityPacked, type Contract } from "ethers";
import { generationContentHash, requestNonce } from "../../src/core/request-binding.js";
import { argmaxFirst, runIntegerModel } from "../../src/model/integer-model.js";
import { Tokenizer, type TokenizerJSON } from "../../src/model/tokenizer.js";
import { decodingStepWindows } from "../../src/witness/step-windows.js";
import {
  calldata,
  compiledModel,
  eventOf,
  mined,
  openTestChain,
  revertsWith,
  STUDENT_DIR,
  studentSteps,
  type Calldata,
  type TestChain,
} from "./chain.fixture.js";

const PROMPT = "The old man and the";
const CONTEXT = 16;
const NONCE_BITS = 109;

interface Request {
  prompt: number[];
  maxTokens: number;
  stop: string[];
  salt: string;
}

let c: TestChain;
let store: Contract;
let studentKey: string;
let tokenizer: Tokenizer;
let prompt: number[];

before(async () => {
  c = await openTestChain({ feeWei: 10n ** 15n, timeoutS: 600 });
  store = c.store;
  studentKey = c.studentKey;
  tokenizer = Tokenizer.fromJSON(JSON.parse(await readFile(`${STUDENT_DIR}/tokenizer.json`, "utf8")) as TokenizerJSON);
  prompt = tokenizer.encode(PROMPT);
});

after(async () => {
  await c?.close();
});

const salt = (k: number) => `0x${k.toString(16).padStart(64, "0")}`;
const nonceOf = (r: Request) => requestNonce(generationContentHash(r.prompt, r.maxTokens, r.stop), r.salt, NONCE_BITS);
const windowOf = (r: Request) => decodingStepWindows(r.prompt, [0], CONTEXT, tokenizer.eotId)[0]!;
const tokensHash = (list: readonly number[]) =>
  keccak256(
    solidityPacked(
      list.map(() => "uint256"),
      list,
    ),
  );
const traceId = (state: bigint, tokens: readonly number[]) =>
  keccak256(AbiCoder.defaultAbiCoder().encode(["uint256", "bytes32"], [state, tokensHash(tokens)]));

/** `n` greedy steps of `request`, proven under its nonce: what the gateway proves for it. */
async function provenSteps(request: Request, n: number): Promise<{ steps: Calldata[]; tokens: number[] }> {
  const files = await studentSteps(windowOf(request), nonceOf(request), n);
  return { steps: files.map(calldata), tokens: files.map((f) => f.output as number) };
}

/** Records the trace of `steps` (from their first) in the registry, as anyone holding the step proofs can. */
async function record(steps: readonly Calldata[]): Promise<void> {
  await mined(
    c.registry.recordTraces(
      studentKey,
      steps.map((s) => s.proof),
      steps.flatMap((s) => s.signals),
      [steps.length],
    ),
  );
}

test("the store's nonce and first state are the gateway's: the same abi encoding, the same window", async () => {
  assert.equal(await store.nonceBits(), BigInt(NONCE_BITS));
  const long = tokenizer.encode("It was the best of times, it was the worst of times, it was the age of wisdom");
  assert.ok(long.length > CONTEXT);
  const requests: Request[] = [
    { prompt, maxTokens: 4, stop: [], salt: salt(1) },
    { prompt, maxTokens: 4, stop: ["io", "\n", "é ☃"], salt: salt(1) },
    { prompt: [], maxTokens: 1, stop: [""], salt: salt(2) },
    { prompt: long, maxTokens: 300, stop: ["\nUser:"], salt: `0x${"ab".repeat(32)}` },
  ];
  for (const r of requests) {
    const nonce = nonceOf(r);
    assert.equal(await store.requestNonce(r), nonce, JSON.stringify(r));
    const window = windowOf(r);
    const state = window.reduce((acc, t, p) => acc | (BigInt(t) << BigInt(9 * p)), nonce << BigInt(9 * CONTEXT));
    assert.equal(await store.promptState(r), state, JSON.stringify(r));
  }
  assert.notEqual(
    await store.requestNonce(requests[0]),
    await store.requestNonce(requests[1]),
    "stop strings are part of the request",
  );
  await revertsWith(
    store.promptState({ ...requests[0], prompt: [...prompt.slice(0, -1), 512 + prompt.at(-1)!] }),
    "TokenOutOfRange",
    [BigInt(512 + prompt.at(-1)!)],
  );
});

test("a trace ending at max_tokens is stored with its text; cut short, extended or shifted it is refused", async (t) => {
  const request: Request = { prompt, maxTokens: 4, stop: [], salt: salt(0x51) };
  // one step more than served: what an extended trace needs
  const { steps, tokens } = await provenSteps(request, 5);
  const state = steps[0]!.signals[0]!;
  assert.equal(await store.promptState(request), state, "the first step starts at the request's own state");
  const served = tokens.slice(0, 4);
  await revertsWith(store.store(request, served), "TraceNotVerified", [state]);
  for (const n of [3, 4, 5]) await record(steps.slice(0, n));
  await record(steps.slice(1)); // generated tokens as the window of a later start

  await revertsWith(store.store(request, tokens.slice(0, 3)), "IncompleteTrace", [3n]);
  await revertsWith(store.store(request, tokens), "TooManyTokens", [5n, 4n]);
  // shifted: the first generated token presented as the prompt's last, the rest as the completion
  const shifted: Request = { ...request, prompt: [...prompt, tokens[0]!], maxTokens: 3 };
  assert.equal(
    await c.registry.isTraceVerified(studentKey, steps[1]!.signals[0], tokens.slice(1)),
    true,
    "that trace is on-chain",
  );
  const shiftedState = await store.promptState(shifted);
  assert.notEqual(shiftedState, steps[1]!.signals[0], "its nonce names another request");
  await revertsWith(store.store(shifted, tokens.slice(1, 4)), "TraceNotVerified", [shiftedState]);
  await revertsWith(store.store({ ...shifted, maxTokens: 4 }, tokens.slice(1)), "TraceNotVerified", [
    await store.promptState({ ...shifted, maxTokens: 4 }),
  ]);
  // the same tokens under another request (another salt, max_tokens or stop list) are not its trace
  for (const other of [
    { ...request, salt: salt(0x52) },
    { ...request, maxTokens: 5 },
    { ...request, stop: ["zz"] },
  ]) {
    await revertsWith(store.store(other, served), "TraceNotVerified", [await store.promptState(other)]);
  }

  const receipt = await mined(store.store(request, served));
  t.diagnostic(
    `CompletionStore.store of a ${served.length}-token completion of a ${prompt.length}-token prompt: ${receipt.gasUsed} gas`,
  );
  const text = tokenizer.decode(served);
  const id = traceId(state, served);
  assert.deepEqual([...eventOf(receipt, store, "CompletionStored").args], [id, state, c.chain.address, PROMPT, text]);
  assert.deepEqual([...(await store.completion(id))], [c.chain.address, PROMPT, text]);
  await revertsWith(store.store(request, served), "AlreadyStored", [id]);
});

test("a stop string completed by the last token: stored cut at the stop string, as served; a step past it is refused", async () => {
  const student = await compiledModel(STUDENT_DIR);
  const greedy: number[] = [];
  for (let k = 0; k < 5; k++)
    greedy.push(
      argmaxFirst(
        runIntegerModel(student.model, decodingStepWindows(prompt, [...greedy, 0], CONTEXT, tokenizer.eotId)[k]!),
      ),
    );
  // the stop string "io" ends inside the 4th token, which also carries text past it (" Union" → " Un")
  const full = tokenizer.decode(greedy.slice(0, 4));
  assert.ok(full.includes("io") && !tokenizer.decode(greedy.slice(0, 3)).includes("io"), JSON.stringify(full));
  const request: Request = { prompt, maxTokens: 16, stop: ["n of", "io"], salt: salt(0x53) };
  const { steps, tokens } = await provenSteps(request, 5);
  assert.deepEqual(tokens, greedy, "greedy decoding does not depend on the nonce");
  for (const n of [3, 4, 5]) await record(steps.slice(0, n));
  await revertsWith(store.store(request, tokens.slice(0, 3)), "IncompleteTrace", [3n]);
  await revertsWith(store.store(request, tokens), "StopStringBeforeEnd", [1n]);

  const served = full.slice(0, full.indexOf("io"));
  const receipt = await mined(store.store(request, tokens.slice(0, 4)));
  const event = eventOf(receipt, store, "CompletionStored");
  assert.equal(event.args.text, served);
  assert.equal(served, " Un");
  assert.equal(event.args.prompt, PROMPT);
});
