/**
 * SnarkThreads: the proofs of `serve`'s in-process provers, made in worker threads off the event
 * loop, are the same proofs as in this thread (valid, the same public signals), the thread's
 * verifications agree with this thread's, and a closed pool refuses calls rather than hanging.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { releaseSnarkWorkers } from "../../src/snark/snark-workers.js";
import { SPAM_FEATURIZER, spamFeatures, type SpamFeaturizerJSON } from "../../src/model/spam-features.js";
import { loadCompiledModel, type CompiledModel } from "../../src/prover/compiled-model.js";
import { snarkInThisThread, SnarkThreads } from "../../src/prover/snark-work.js";

let spam: CompiledModel;
let sample: number[];
const threads = new SnarkThreads(2);

before(async () => {
  spam = await loadCompiledModel("artifacts/models/pg-spam");
  const featurizer: SpamFeaturizerJSON = {
    ...SPAM_FEATURIZER,
    ...(JSON.parse(await readFile("artifacts/models/pg-spam/featurizer.json", "utf8")) as Partial<SpamFeaturizerJSON>),
  };
  sample = Array.from(spamFeatures("win money now, click here", featurizer));
  await threads.ready();
});

after(async () => {
  await threads.close();
  await releaseSnarkWorkers(); // this thread's own verifications
});

describe("SnarkThreads", () => {
  test("proves in a thread what this thread proves, and both verify it", async () => {
    const [a, b] = await Promise.all([threads.prove(spam, sample, 7n), threads.prove(spam, sample, 8n)]);
    const here = await snarkInThisThread.prove(spam, sample, 7n);
    assert.deepEqual(a.public_signals, here.public_signals);
    assert.notDeepEqual(a.public_signals, b.public_signals, "the nonce is in the signals");
    for (const file of [a, b]) {
      assert.equal((await snarkInThisThread.verify(spam, file)).valid, true);
      assert.equal((await threads.verify(spam, file)).valid, true);
    }
    const forged = { ...a, public_signals: b.public_signals };
    const verdict = await threads.verify(spam, forged);
    assert.equal(verdict.valid, false);
    assert.equal(verdict.reason, (await snarkInThisThread.verify(spam, forged)).reason);
  });

  test("a thread's failure comes back as an error", async () => {
    await assert.rejects(
      threads.prove({ ...spam, dir: "artifacts/models/no-such-model" }, sample, 1n),
      /no-such-model/,
    );
  });

  test("after close, calls are refused", async () => {
    const pool = new SnarkThreads(1);
    await pool.close();
    await assert.rejects(pool.prove(spam, sample, 1n), /closed/);
  });
});
