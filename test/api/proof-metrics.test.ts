/**
 * /metrics after real traffic: proofs by status and model, the queue, proving seconds by model and
 * prover, steps proved, refusals by limit; and backpressure: a full proof backlog refuses provable
 * requests with 429 and retry-after while `"proof": false` is served and accepted records stay put.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { pino } from "pino";
import { ProofMetrics } from "../../src/api/metrics/proof-metrics.js";
import { newProofRecord } from "../../src/core/proof-record.js";
import { MemoryJobQueue } from "../../src/jobs/job-queue-memory.js";
import { ProofBacklog } from "../../src/prover/proof-backlog.js";
import { ProofScheduler } from "../../src/prover/proof-scheduler.js";
import { ProofSweep } from "../../src/prover/proof-sweep.js";
import { MemoryProofStore } from "../../src/store/proof-store-memory.js";
import {
  postJson,
  startProvingTestGateway,
  startTestGateway,
  type ProvingTestGateway,
  type TestGateway,
} from "./gateway-fixture.js";
import { settledProof, until } from "../fixtures/until.js";

const SPAM_TEXT = "Congratulations! You won a FREE prize, click here to claim cash now";

/** The value of the first sample line `pattern` matches in `text`, or null. */
function sample(text: string, pattern: RegExp): number | null {
  const line = text.split("\n").find((l) => pattern.test(l));
  return line === undefined ? null : Number(line.split(" ").at(-1));
}

async function scrape(url: string): Promise<string> {
  const res = await fetch(`${url}/metrics`);
  assert.equal(res.status, 200);
  return res.text();
}

/** Polls /metrics until `pattern`'s value is at least `atLeast` (metrics from queue events arrive a moment later). */
async function untilMetric(url: string, pattern: RegExp, atLeast: number): Promise<number> {
  return until(
    async () => sample(await scrape(url), pattern) ?? 0,
    (value) => value >= atLeast,
    { what: `${pattern.source} ≥ ${atLeast}`, everyMs: 50 },
  );
}

describe("proof metrics after real traffic", () => {
  let gw: ProvingTestGateway;
  before(async () => {
    gw = await startProvingTestGateway({ provers: 1, proverConcurrency: 1 });
  });
  after(() => gw.close());

  it("an inference proved: proving seconds +1 for its model and prover, records by status move, the next answer has an ETA", async () => {
    const res = await postJson(`${gw.url}/v1/inferences`, { model: "pg-spam", input: SPAM_TEXT });
    assert.equal(res.status, 200);
    const { proof } = (await res.json()) as { proof: { id: string; eta_s: number | null } };
    assert.ok("eta_s" in proof, "the answer's proof says its ETA");
    const record = await settledProof(gw.url, proof.id, ["proved", "failed"]);
    assert.equal(record.status, "proved", record.error ?? "");
    const histogram = new RegExp(
      `^proofgate_proving_seconds_count\\{model="pg-spam",prover="${record.prover}",kind="inference"\\}`,
    );
    assert.equal(await untilMetric(gw.url, histogram, 1), 1);
    const text = await scrape(gw.url);
    assert.equal(sample(text, /^proofgate_proofs\{status="proved",model="pg-spam"\}/), 1);
    assert.equal(
      sample(text, /^proofgate_proofs\{status="queued",model="pg-spam"\}/),
      null,
      "no record of it is left queued",
    );
    assert.equal(sample(text, /^proofgate_proof_oldest_queued_age_seconds /), 0);
    for (const state of ["waiting", "active", "delayed", "waitingChildren"])
      assert.notEqual(sample(text, new RegExp(`^proofgate_proof_queue_jobs\\{state="${state}"\\}`)), null, state);
    assert.ok((sample(text, /^proofgate_proof_backlog_eta_seconds /) ?? -1) >= 0, "an ETA once a proof was measured");

    // a proof measured: the next answer, and its record, carry an estimate
    const next = await postJson(`${gw.url}/v1/inferences`, { model: "pg-spam", input: "see you at lunch tomorrow" });
    const nextProof = ((await next.json()) as { proof: { id: string; eta_s: number | null } }).proof;
    assert.equal(typeof nextProof.eta_s, "number");
    const stored = await gw.proofs.store.get(nextProof.id);
    assert.equal(stored?.timings.eta, Math.round(nextProof.eta_s! * 1000));
    await settledProof(gw.url, nextProof.id, ["proved", "failed"]);
  });

  it("a proven completion: one step-proof observation and one step proved per token", async () => {
    const text = await scrape(gw.url);
    const stepsBefore = sample(text, /^proofgate_proof_steps_proved_total\{model="pg-student"\}/) ?? 0;
    const res = await postJson(`${gw.url}/v1/completions`, {
      model: "pg-student",
      prompt: "The",
      max_tokens: 2,
      temperature: 0,
    });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { proof: { id: string }; usage: { completion_tokens: number } };
    const record = await settledProof(gw.url, body.proof.id, ["proved", "failed"]);
    assert.equal(record.status, "proved", record.error ?? "");
    const tokens = body.usage.completion_tokens;
    assert.equal(
      await untilMetric(gw.url, /^proofgate_proof_steps_proved_total\{model="pg-student"\}/, stepsBefore + tokens),
      stepsBefore + tokens,
    );
    const prover = record.steps[0]!.prover!;
    const steps = new RegExp(`^proofgate_proving_seconds_count\\{model="pg-student",prover="${prover}",kind="step"\\}`);
    assert.equal(await untilMetric(gw.url, steps, tokens), tokens);
  });
});

describe("backpressure on a full proof backlog", () => {
  let gw: ProvingTestGateway;
  before(async () => {
    // no provers: nothing drains the queue, so the first accepted proof fills a backlog of one job
    gw = await startProvingTestGateway({ provers: 0, maxProofBacklog: 1 });
  });
  after(() => gw.close());

  it("the next provable request gets 429 with retry-after; proof: false is served; the accepted record is untouched", async () => {
    const first = await postJson(`${gw.url}/v1/inferences`, { model: "pg-spam", input: SPAM_TEXT });
    assert.equal(first.status, 200);
    const accepted = ((await first.json()) as { proof: { id: string; eta_s: number | null } }).proof;
    assert.equal(accepted.eta_s, null, "nothing proved yet: no estimate");
    // the backlog's look at the queue is reused for a while: until it has seen the accepted job
    await until(
      () => gw.proofs.backlog.estimate(),
      (e) => e.pending >= 1,
      { what: "the backlog to count the accepted job" },
    );

    for (const body of [
      { model: "pg-spam", input: SPAM_TEXT },
      { model: "pg-student", prompt: "The", max_tokens: 2, temperature: 0 },
    ]) {
      const route = "prompt" in body ? "/v1/completions" : "/v1/inferences";
      const refused = await postJson(`${gw.url}${route}`, body);
      assert.equal(refused.status, 429, route);
      assert.equal(refused.headers.get("retry-after"), "30", "no proof measured: the default wait");
      assert.equal(refused.headers.get("x-proof-id"), null);
      const error = ((await refused.json()) as { error: { code: string; message: string } }).error;
      assert.equal(error.code, "overloaded");
      assert.match(error.message, /1 proof jobs pending.*PROOFGATE_MAX_PROOF_BACKLOG.*"proof": false/);
    }

    const unproven = await postJson(`${gw.url}/v1/inferences`, { model: "pg-spam", input: SPAM_TEXT, proof: false });
    assert.equal(unproven.status, 200);
    assert.equal(((await unproven.json()) as { proof?: unknown }).proof, undefined);
    const chat = await postJson(`${gw.url}/v1/chat/completions`, {
      model: "pg-student",
      messages: [{ role: "user", content: "hi" }],
      max_tokens: 2,
      proof: false,
    });
    assert.equal(chat.status, 200);
    // an unprovable model is never held back
    const teacher = await postJson(`${gw.url}/v1/completions`, { model: "pg-teacher", prompt: "The", max_tokens: 2 });
    assert.equal(teacher.status, 200);

    const record = await gw.proofs.store.get(accepted.id);
    assert.equal(record?.status, "queued", "the accepted record stays queued, its job on the queue");
    assert.equal((await gw.proofs.queue.counts()).waiting, 1);
    const text = await scrape(gw.url);
    assert.equal(sample(text, /^proofgate_rate_limited_total\{limit="proof_backlog"\}/), 2);
    assert.equal(sample(text, /^proofgate_proofs\{status="queued",model="pg-spam"\}/), 1);
    assert.ok(
      (sample(text, /^proofgate_proof_oldest_queued_age_seconds /) ?? 0) >= 1,
      "its record has waited over a second",
    );
  });
});

describe("refusals by limit", () => {
  let gw: TestGateway;
  before(async () => {
    gw = await startTestGateway({ rateLimitPerMinute: 3, maxSequencesPerClient: 1 });
  });
  after(() => gw.close());

  it("counts requests over the per-minute limit and sequences over the per-client limit", async () => {
    const over = await postJson(`${gw.url}/v1/completions`, {
      model: "pg-teacher",
      prompt: "The",
      max_tokens: 2,
      n: 2,
    });
    assert.equal(over.status, 429);
    assert.equal(((await over.json()) as { error: { code: string } }).error.code, "overloaded");
    for (let i = 0; i < 2; i++) assert.equal((await fetch(`${gw.url}/v1/models`)).status, 200);
    const limited = await fetch(`${gw.url}/v1/models`);
    assert.equal(limited.status, 429);
    const text = await scrape(gw.url);
    assert.equal(sample(text, /^proofgate_rate_limited_total\{limit="sequences"\}/), 1);
    assert.equal(sample(text, /^proofgate_rate_limited_total\{limit="requests"\}/), 1);
    assert.equal(sample(text, /^proofgate_proofs\{/), null, "no proof families without proof services");
  });
});

describe("ProofMetrics observers", () => {
  it("counts submissions and gas by contract, chain errors by kind, and the sweep's re-enqueues", async () => {
    const store = new MemoryProofStore();
    const queue = new MemoryJobQueue();
    const metrics = new ProofMetrics({ store, queue });
    const logger = pino({ level: "silent" });
    const scheduler = new ProofScheduler({ store, queue, logger });
    await store.create(newProofRecord({ model: "m", request: { kind: "inference" }, id: "proof-swept" }));
    await new ProofSweep({ store, scheduler, logger, leaseMs: 1000, queuedGraceMs: 0, observer: metrics }).sweepOnce();
    metrics.submitted("0xabc", 250_000n);
    metrics.submitted("0xabc", 50_000n);
    metrics.submitted("0xdef", null);
    metrics.chainError("rpc");
    metrics.chainError("revert");
    metrics.chainError("rpc");
    const text = await metrics.registry.metrics();
    assert.equal(sample(text, /^proofgate_sweep_reenqueued_total\{reason="queued"\}/), 1);
    assert.equal(sample(text, /^proofgate_sweep_reenqueued_total\{reason="orphaned"\}/), null);
    assert.equal(sample(text, /^proofgate_chain_submissions_total\{contract="0xabc"\}/), 2);
    assert.equal(sample(text, /^proofgate_chain_submissions_total\{contract="0xdef"\}/), 1);
    assert.equal(sample(text, /^proofgate_chain_gas_used_total\{contract="0xabc"\}/), 300_000);
    assert.equal(sample(text, /^proofgate_chain_errors_total\{kind="rpc"\}/), 2);
    assert.equal(sample(text, /^proofgate_chain_errors_total\{kind="revert"\}/), 1);
    await queue.close();
  });

  it("a completed event for a record that is not proved, or a forged job id, observes nothing", async () => {
    const store = new MemoryProofStore();
    const queue = new MemoryJobQueue();
    const backlog = new ProofBacklog({ queue, maxJobs: 0, maxEtaS: 0, slots: 1 });
    const metrics = new ProofMetrics({ store, queue, backlog });
    await store.create(newProofRecord({ model: "m", request: { kind: "inference" }, id: "proof-pending" }));
    await metrics.completed("proof-pending");
    await metrics.completed("proof-unknown");
    await metrics.completed("proof-pending#7");
    const record = await store.create(newProofRecord({ model: "m", request: { kind: "inference" }, id: "proof-done" }));
    await store.transition(record.id, "queued", "proving");
    await store.transition(record.id, "proving", "proved", { prover: "w1", timings: { witness: 500, prove: 1500 } });
    await metrics.completed("proof-done");
    await metrics.completed("proof-done"); // the same job's event twice counts once
    const text = await metrics.registry.metrics();
    assert.equal(sample(text, /^proofgate_proving_seconds_count\{model="m",prover="w1",kind="inference"\}/), 1);
    assert.equal(sample(text, /^proofgate_proving_seconds_sum\{model="m",prover="w1",kind="inference"\}/), 2);
    assert.equal(text.split("\n").filter((l) => l.startsWith("proofgate_proving_seconds_count")).length, 1);
    assert.equal(backlog.meanProofSeconds, 2);
    await queue.close();
  });
});

describe("ProofBacklog", () => {
  const counts = (waiting: number) => ({
    counts: async () => ({ waiting, active: 1, delayed: 0, waitingChildren: 5 }),
  });

  it("estimates pending × mean seconds ÷ slots, refuses past the ETA limit with the seconds to wait", async () => {
    let t = 0;
    const backlog = new ProofBacklog({ queue: counts(9), maxJobs: 0, maxEtaS: 20, slots: 2, now: () => t });
    assert.deepEqual(await backlog.admit(), { pending: 10, etaS: null }, "no proof measured: no ETA, nothing refused");
    backlog.observeProof(3);
    backlog.observeProof(5);
    t += 1000;
    // (10 pending + this one) × 4 s ÷ 2 slots
    await assert.rejects(backlog.admit(), (err: { code: string; retryAfterS: number; message: string }) => {
      assert.equal(err.code, "overloaded");
      assert.equal(err.retryAfterS, 2);
      assert.match(
        err.message,
        /10 proof jobs pending, about 22 s to prove; the limit is 20 s \(PROOFGATE_MAX_PROOF_ETA_S\)/,
      );
      return true;
    });
    assert.deepEqual(backlog.latest, { pending: 10, etaS: 22 });
  });

  it("refuses at the depth limit and reuses one look at the queue within its cache time", async () => {
    let looks = 0;
    let t = 0;
    const queue = {
      counts: async () => ({ waiting: looks++ === 0 ? 3 : 4, active: 0, delayed: 0, waitingChildren: 0 }),
    };
    const backlog = new ProofBacklog({ queue, maxJobs: 4, maxEtaS: 0, slots: 1, now: () => t });
    assert.equal((await backlog.admit()).pending, 3);
    assert.equal((await backlog.admit()).pending, 3, "cached");
    t += 1000;
    await assert.rejects(backlog.admit(), /4 proof jobs pending, no estimate yet; the limit is 4 jobs/);
    assert.equal(looks, 2);
  });
});
