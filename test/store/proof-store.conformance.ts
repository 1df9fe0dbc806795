/**
 * One behaviour for every ProofStore (STYLE rule 11): the memory, SQLite and PostgreSQL test files
 * each call `runProofStoreConformance` with a harness that opens a fresh, empty store per test.
 */
import { afterEach, beforeEach, describe, test } from "node:test";
import assert from "node:assert/strict";
import { isProofgateError, type ErrorCode } from "../../src/core/errors.js";
import {
  newProofRecord,
  type NewProofRecord,
  type ProofRecord,
  type ProofStatus,
  type ProofStep,
} from "../../src/core/proof-record.js";
import type { ProofStore } from "../../src/store/proof-store.js";

export interface OpenedStore {
  readonly store: ProofStore;
  /** A second handle on the same data (same SQLite file, same PG schema); absent when the data lives in the handle. */
  readonly openAnother?: () => Promise<ProofStore>;
  /** Removes the data (temporary folder, schema). */
  dispose(): Promise<void>;
}

export interface ProofStoreHarness {
  /** A fresh, empty store whose `updatedAtMs` comes from `now`. */
  open(now: () => number): Promise<OpenedStore>;
}

export interface ConformanceOptions {
  /** Skip the whole suite, with this one-line reason. */
  readonly skip?: string;
  /** Data outlives the handle (files, a server): the reopen test applies. @defaultValue true */
  readonly persistent?: boolean;
}

const T0 = 1_750_000_000_000;

function rejectsWith(code: ErrorCode, param?: string) {
  return (err: unknown) => {
    assert.ok(isProofgateError(err, code), `expected ProofgateError ${code}, got ${String(err)}`);
    if (param !== undefined) assert.equal(err.param, param);
    return true;
  };
}

function queuedSteps(count: number): ProofStep[] {
  return Array.from({ length: count }, (_, index) => ({
    index,
    status: "queued" as const,
    publicSignals: null,
    proof: null,
    output: null,
    timings: {},
    prover: null,
  }));
}

export function runProofStoreConformance(
  name: string,
  harness: ProofStoreHarness,
  options: ConformanceOptions = {},
): void {
  describe(`ProofStore conformance: ${name}`, { skip: options.skip }, () => {
    let nowMs = T0;
    let opened: OpenedStore;
    let store: ProofStore;
    const extraHandles: ProofStore[] = [];

    /** Another handle on the same data where the implementation has one, else the same store. */
    async function other(): Promise<ProofStore> {
      if (!opened.openAnother) return store;
      const handle = await opened.openAnother();
      extraHandles.push(handle);
      return handle;
    }

    beforeEach(async () => {
      nowMs = T0;
      opened = await harness.open(() => nowMs);
      store = opened.store;
    });

    afterEach(async () => {
      for (const handle of extraHandles.splice(0)) await handle.close();
      await store.close();
      await opened.dispose();
    });

    test("create and get round-trip every field, JSON text included", async () => {
      const signals = Array.from({ length: 3000 }, (_, i) => (2n ** 253n - BigInt(i) * 7919n).toString());
      const record: NewProofRecord = {
        ...newProofRecord({
          model: "tiny-chat",
          created: 1_750_000_000,
          // Key order is part of what was committed: `z` before `a` must come back that way.
          request: {
            z: 1,
            a: [1.5, -2, 0],
            prompt: 'héllo 👋 中文 "quoted" \\ \n\t \u0000 end',
            nonce: `0x${"ab".repeat(32)}`,
          },
          output: { text: "Ünïcödé ✓", big: "12345678901234567890", tokens: [1, 2, 3] },
          vkeyHash: `0x${"cd".repeat(32)}`,
          steps: [
            {
              index: 0,
              status: "proved",
              publicSignals: ["1", "2"],
              proof: { pi_a: ["1", "2", "1"], protocol: "groth16" },
              output: 17,
              timings: { prove: 812.5 },
              prover: "host-a/1",
            },
            { index: 1, status: "queued", publicSignals: null, proof: null, output: null, timings: {}, prover: null },
          ],
        }),
        publicSignals: signals,
        proof: {
          pi_a: ["1", "2", "1"],
          pi_b: [
            ["1", "2"],
            ["3", "4"],
            ["1", "0"],
          ],
          pi_c: ["5", "6", "1"],
          protocol: "groth16",
          curve: "bn128",
        },
        timings: { queued: 3, witness: 41.25 },
        chain: {
          chainId: 31337,
          contract: `0x${"11".repeat(20)}`,
          txHash: `0x${"22".repeat(32)}`,
          blockNumber: 12n,
          gasUsed: 2n ** 60n,
          inputCommitment: signals[0],
        },
        prover: "host-a/2",
        attempts: 2,
      };
      const created = await store.create(record);
      const expected: ProofRecord = { ...record, updatedAtMs: T0 };
      assert.deepEqual(created, expected);
      const got = await store.get(record.id);
      assert.deepEqual(got, expected);
      assert.equal(JSON.stringify(got?.request), JSON.stringify(record.request));
      assert.equal(await store.get("proof-missing"), null);
      await assert.rejects(store.create(record), rejectsWith("conflict", "id"));
    });

    test("JSON values of every kind survive, as top-level request and output", async () => {
      const values: unknown[] = [
        "a string",
        "12345678901234567890",
        0,
        -0.5,
        1e21,
        true,
        false,
        null,
        [],
        {},
        [null, "x"],
      ];
      for (const [i, value] of values.entries()) {
        const record = newProofRecord({ model: "m", request: value, output: value, id: `proof-json-${i}` });
        await store.create(record);
        const got = await store.get(record.id);
        assert.deepEqual(got?.request, value, `request ${JSON.stringify(value)}`);
        assert.deepEqual(got?.output, value, `output ${JSON.stringify(value)}`);
      }
    });

    describe("list", () => {
      let all: ProofRecord[];

      beforeEach(async () => {
        all = [];
        for (let i = 0; i < 25; i++) {
          // Three records per second, so ties on `created` exercise the id tie-break.
          const record = newProofRecord({
            model: i % 2 ? "model-b" : "model-a",
            request: { i },
            created: 1_750_000_000 + Math.floor(i / 3),
          });
          all.push(await store.create({ ...record, status: i % 4 === 0 ? "proved" : "queued" }));
        }
        all.sort((a, b) => b.created - a.created || (a.id < b.id ? 1 : -1));
      });

      async function pages(filter: { status?: ProofStatus; model?: string }, limit: number) {
        const seen: ProofRecord[] = [];
        const hasMore: boolean[] = [];
        let after: string | undefined;
        for (;;) {
          const page = await store.list({ ...filter, limit, after });
          seen.push(...page.data);
          hasMore.push(page.hasMore);
          if (!page.hasMore) return { seen, hasMore };
          after = page.data.at(-1)?.id;
        }
      }

      test("pages of 10 come back newest first, without duplicates, hasMore right", async () => {
        const { seen, hasMore } = await pages({}, 10);
        assert.deepEqual(hasMore, [true, true, false]);
        assert.deepEqual(
          seen.map((r) => r.id),
          all.map((r) => r.id),
        );
        assert.equal(new Set(seen.map((r) => r.id)).size, 25);
      });

      test("filters by model and status, together and apart", async () => {
        for (const filter of [
          { model: "model-b" },
          { status: "proved" as const },
          { model: "model-a", status: "queued" as const },
        ]) {
          const expected = all.filter(
            (r) => (!filter.model || r.model === filter.model) && (!("status" in filter) || r.status === filter.status),
          );
          const { seen } = await pages(filter, 4);
          assert.deepEqual(
            seen.map((r) => r.id),
            expected.map((r) => r.id),
            JSON.stringify(filter),
          );
        }
        assert.deepEqual(await store.list({ model: "no-such-model" }), { data: [], hasMore: false });
      });

      test("limit defaults to 20, exact fits say no more, bad arguments fail by param", async () => {
        const first = await store.list();
        assert.equal(first.data.length, 20);
        assert.equal(first.hasMore, true);
        assert.equal((await store.list({ limit: 25 })).hasMore, false);
        await assert.rejects(store.list({ limit: 0 }), rejectsWith("invalid_argument", "limit"));
        await assert.rejects(store.list({ limit: 101 }), rejectsWith("invalid_argument", "limit"));
        await assert.rejects(store.list({ status: "done" as ProofStatus }), rejectsWith("invalid_argument", "status"));
        await assert.rejects(store.list({ after: "proof-missing" }), rejectsWith("invalid_argument", "after"));
      });
    });

    describe("list with search", () => {
      const TX = `0x${"Ab".repeat(32)}`;
      const proofJson = { pi_a: ["424242", "2", "1"], protocol: "groth16" };
      const step = (index: number, publicSignals: string[] | null): ProofStep => ({
        index,
        status: publicSignals ? "proved" : "queued",
        publicSignals,
        proof: publicSignals ? proofJson : null,
        output: { choice: 0, position: index, token: 77 },
        timings: {},
        prover: null,
      });

      beforeEach(async () => {
        const make = (id: string, created: number, model = "model-a") =>
          newProofRecord({ id, model, created, request: { nonce: "111", note: "6" } });
        // s1: a verified inference; 2748 is 0xabc
        await store.create({
          ...make("proof-s1", 1_750_000_001),
          status: "verified",
          publicSignals: ["111", "2748"],
          proof: proofJson,
          chain: { chainId: 1, contract: "0xc", txHash: TX, blockNumber: 5n, gasUsed: 7n, inputCommitment: "999" },
        });
        // s2: a generation whose steps carry the signals
        await store.create({
          ...make("proof-s2", 1_750_000_002),
          status: "proving",
          steps: [step(0, ["5", "6"]), step(1, ["6", "7"]), step(2, null)],
        });
        // s3: numbers only in its request, its proof and as longer signals
        await store.create({
          ...make("proof-s3", 1_750_000_003),
          status: "proved",
          publicSignals: ["1110", "61"],
          proof: proofJson,
        });
        // s4: another model, a step signal shared with s2, a chain receipt without an input commitment
        await store.create({
          ...make("proof-s4", 1_750_000_004, "model-b"),
          status: "submitted",
          steps: [step(0, ["6", "8"])],
          chain: { chainId: 1, contract: "0xc", txHash: `0x${"ef".repeat(32)}`, blockNumber: null, gasUsed: null },
        });
      });

      const ids = async (options: Parameters<ProofStore["list"]>[0]) =>
        (await store.list(options)).data.map((r) => r.id);

      test("matches an id, a transaction hash in any case, an input commitment, in decimal or 0x-hex", async () => {
        assert.deepEqual(await ids({ search: "proof-s3" }), ["proof-s3"]);
        assert.deepEqual(await ids({ search: "proof-s" }), []);
        assert.deepEqual(await ids({ search: "PROOF-S3" }), []);
        assert.deepEqual(await ids({ search: TX }), ["proof-s1"]);
        assert.deepEqual(await ids({ search: TX.toLowerCase() }), ["proof-s1"]);
        assert.deepEqual(await ids({ search: TX.toUpperCase().replace("0X", "0x") }), ["proof-s1"]);
        assert.deepEqual(await ids({ search: TX.slice(0, -2) }), []);
        assert.deepEqual(await ids({ search: "999" }), ["proof-s1"]);
        assert.deepEqual(await ids({ search: "0x3e7" }), ["proof-s1"]);
      });

      test("matches a public signal of the record or of a step exactly, never the request or the proof", async () => {
        assert.deepEqual(await ids({ search: "2748" }), ["proof-s1"]);
        assert.deepEqual(await ids({ search: "0xabc" }), ["proof-s1"]);
        assert.deepEqual(await ids({ search: "0XABC" }), ["proof-s1"]);
        assert.deepEqual(await ids({ search: "0x0abc" }), ["proof-s1"]);
        assert.deepEqual(await ids({ search: "111" }), ["proof-s1"], "not 1110, nor the request's nonce");
        assert.deepEqual(await ids({ search: "0111" }), ["proof-s1"], "a number in decimal, leading zeros and all");
        assert.deepEqual(await ids({ search: "11" }), []);
        assert.deepEqual(await ids({ search: "424242" }), [], "a proof coordinate is not a public signal");
        assert.deepEqual(await ids({ search: "77" }), [], "nor is a step's output");
        assert.deepEqual(await ids({ search: "7" }), ["proof-s2"]);
        assert.deepEqual(await ids({ search: "6" }), ["proof-s4", "proof-s2"]);
        assert.deepEqual(await ids({ search: "0x6" }), ["proof-s4", "proof-s2"]);
      });

      test("combines with model, status, limit and after", async () => {
        assert.deepEqual(await ids({ search: "6", model: "model-a" }), ["proof-s2"]);
        assert.deepEqual(await ids({ search: "6", status: "submitted" }), ["proof-s4"]);
        assert.deepEqual(await ids({ search: "6", status: "verified" }), []);
        const first = await store.list({ search: "6", limit: 1 });
        assert.deepEqual([first.data.map((r) => r.id), first.hasMore], [["proof-s4"], true]);
        const second = await store.list({ search: "6", limit: 1, after: "proof-s4" });
        assert.deepEqual([second.data.map((r) => r.id), second.hasMore], [["proof-s2"], false]);
        assert.deepEqual(await ids({ search: "999", after: "proof-s2" }), ["proof-s1"]);
        assert.deepEqual(await ids({ search: "999", after: "proof-s1" }), []);
      });

      test("text that is no id, hash or number finds nothing, wildcards and quotes included; bad search fails by param", async () => {
        for (const search of [
          "nothing",
          "%",
          "_",
          "%6%",
          '"6"',
          "proof-s_",
          "' OR 1=1 --",
          "6' OR '1'='1",
          "0x",
          "0xg1",
          "-6",
          "6.0",
        ]) {
          assert.deepEqual(await ids({ search }), [], search);
        }
        await assert.rejects(store.list({ search: "" }), rejectsWith("invalid_argument", "search"));
        await assert.rejects(store.list({ search: "1".repeat(101) }), rejectsWith("invalid_argument", "search"));
        assert.deepEqual(await ids({ search: "1".repeat(100) }), []);
      });
    });

    describe("transition", () => {
      test("concurrent claims of a queued record: exactly one wins", async () => {
        const record = await store.create(newProofRecord({ model: "m", request: {} }));
        const second = await other();
        const claims = await Promise.all(
          Array.from({ length: 10 }, (_, i) =>
            (i % 2 ? second : store).transition(record.id, "queued", "proving", { prover: `worker-${i}` }),
          ),
        );
        const winners = claims.filter((r) => r !== null);
        assert.equal(winners.length, 1);
        const stored = await store.get(record.id);
        assert.equal(stored?.status, "proving");
        assert.equal(stored?.attempts, 1);
        assert.equal(stored?.prover, winners[0]?.prover);
      });

      test("a stale `from` returns null and changes nothing; an unknown id is not_found", async () => {
        const record = await store.create(newProofRecord({ model: "m", request: {} }));
        nowMs += 1000;
        assert.equal(await store.transition(record.id, "proving", "proved", { error: "x" }), null);
        assert.deepEqual(await store.get(record.id), record);
        await assert.rejects(store.transition("proof-missing", "queued", "proving"), rejectsWith("not_found", "id"));
      });

      test("an illegal move throws conflict and changes nothing", async () => {
        const record = await store.create(newProofRecord({ model: "m", request: {} }));
        await assert.rejects(store.transition(record.id, "queued", "verified"), rejectsWith("conflict", "status"));
        await assert.rejects(store.transition(record.id, "queued", "queued"), rejectsWith("conflict"));
        await assert.rejects(store.transition(record.id, "failed", "queued"), rejectsWith("conflict"));
        assert.deepEqual(await store.get(record.id), record);
      });

      test("the whole life: patches apply, timings merge, attempts count claims", async () => {
        const { id } = await store.create(newProofRecord({ model: "m", request: {} }));
        nowMs += 5;
        let r = await store.transition(id, "queued", "proving", { prover: "a", timings: { queued: 5 } });
        assert.equal(r?.updatedAtMs, T0 + 5);
        // A worker hands the job back (shutdown), another claims it: two attempts.
        r = await store.transition(id, "proving", "queued");
        r = await store.transition(id, "queued", "proving", { prover: "b" });
        assert.equal(r?.attempts, 2);
        r = await store.transition(id, "proving", "proved", {
          publicSignals: ["7"],
          proof: { protocol: "groth16" },
          timings: { witness: 10, prove: 900 },
        });
        r = await store.transition(id, "proved", "submitted", { timings: { verify: 4 } });
        const chain = { chainId: 1, contract: "0xc", txHash: "0xt", blockNumber: 99n, gasUsed: 250_000n };
        r = await store.transition(id, "submitted", "verified", { chain });
        assert.deepEqual(r, await store.get(id));
        assert.equal(r?.status, "verified");
        assert.deepEqual(r?.timings, { queued: 5, witness: 10, prove: 900, verify: 4 });
        assert.deepEqual(r?.publicSignals, ["7"]);
        assert.deepEqual(r?.chain, chain);
        assert.equal(r?.prover, "b");
        assert.equal(r?.attempts, 2);
        await assert.rejects(store.transition(id, "verified", "failed"), rejectsWith("conflict"));
      });

      test("a generation: generating until its choices are known, then queued with its steps; a cut-off one fails; a heartbeat keeps it off the sweep", async () => {
        const open = await store.create(
          newProofRecord({ model: "m", request: { max_tokens: 2 }, output: { choices: [] }, status: "generating" }),
        );
        assert.equal(open.status, "generating");
        assert.deepEqual(await store.get(open.id), open);
        assert.deepEqual(
          (await store.list({ status: "generating" })).data.map((r) => r.id),
          [open.id],
        );
        await assert.rejects(store.transition(open.id, "generating", "proving"), rejectsWith("conflict"));
        nowMs += 10_000;
        await store.update(open.id, {});
        nowMs += 5_000;
        assert.deepEqual(
          (await store.findByStatus({ statuses: ["generating"], olderThanMs: 10_000 })).map((r) => r.id),
          [],
        );
        nowMs += 5_000;
        assert.deepEqual(
          (await store.findByStatus({ statuses: ["generating"], olderThanMs: 10_000 })).map((r) => r.id),
          [open.id],
        );
        const queued = await store.transition(open.id, "generating", "queued", {
          output: { choices: [{ tokens: [5, 6] }] },
          steps: queuedSteps(2),
        });
        assert.equal(queued?.status, "queued");
        assert.equal(queued?.steps.length, 2);
        assert.deepEqual(queued?.output, { choices: [{ tokens: [5, 6] }] });
        assert.equal(
          await store.transition(open.id, "generating", "failed", { error: "late" }),
          null,
          "a finished generation is not failed by a late sweep",
        );

        const cut = await store.create(newProofRecord({ model: "m", request: {}, status: "generating" }));
        const failed = await store.transition(cut.id, "generating", "failed", {
          error: "not proven: the answer was cut off",
        });
        assert.equal(failed?.status, "failed");
        assert.equal(failed?.error, "not proven: the answer was cut off");
        assert.equal(failed?.attempts, 0);
      });

      test("failed carries its error", async () => {
        const { id } = await store.create(newProofRecord({ model: "m", request: {} }));
        await store.transition(id, "queued", "proving");
        const r = await store.transition(id, "proving", "failed", {
          error: "witness: input has 12 values; model expects 16",
        });
        assert.equal(r?.status, "failed");
        assert.equal(r?.error, "witness: input has 12 values; model expects 16");
      });
    });

    test("update changes fields but not status, merges timings, bumps updatedAtMs", async () => {
      const { id } = await store.create({
        ...newProofRecord({ model: "m", request: {}, output: "old" }),
        timings: { queued: 1 },
      });
      nowMs += 250;
      const r = await store.update(id, { output: { text: "new" }, timings: { witness: 2 } });
      assert.equal(r.status, "queued");
      assert.deepEqual(r.output, { text: "new" });
      assert.deepEqual(r.timings, { queued: 1, witness: 2 });
      assert.equal(r.updatedAtMs, T0 + 250);
      assert.deepEqual(await store.get(id), r);
      await assert.rejects(store.update("proof-missing", {}), rejectsWith("not_found", "id"));
    });

    test("updateStep: parallel steps from two handles all land, timings merge", async () => {
      const { id } = await store.create(newProofRecord({ model: "m", request: {}, steps: queuedSteps(6) }));
      await store.updateStep(id, 2, { timings: { queued: 3 } });
      const second = await other();
      await Promise.all(
        Array.from({ length: 6 }, (_, i) =>
          (i % 2 ? second : store).updateStep(id, i, {
            status: "proved",
            publicSignals: [String(i)],
            proof: { i },
            output: i * 10,
            timings: { prove: 100 + i },
            prover: `w${i % 2}`,
          }),
        ),
      );
      const r = await store.get(id);
      assert.equal(r?.status, "queued");
      assert.deepEqual(
        r?.steps.map((s) => [s.index, s.status, s.publicSignals?.[0], s.output, s.prover]),
        Array.from({ length: 6 }, (_, i) => [i, "proved", String(i), i * 10, `w${i % 2}`]),
      );
      assert.deepEqual(r?.steps[2]?.timings, { queued: 3, prove: 102 });
      await assert.rejects(store.updateStep(id, 6, { status: "proved" }), rejectsWith("not_found", "index"));
      await assert.rejects(store.updateStep("proof-missing", 0, {}), rejectsWith("not_found", "id"));
    });

    test("countByStatus: records per status and model with the oldest created, and it follows transitions", async () => {
      assert.deepEqual(await store.countByStatus(), []);
      const a = await store.create(
        newProofRecord({ model: "m-a", request: null, created: 1_750_000_100, id: "proof-count-a" }),
      );
      await store.create(newProofRecord({ model: "m-a", request: null, created: 1_750_000_050, id: "proof-count-b" }));
      await store.create(newProofRecord({ model: "m-b", request: null, created: 1_750_000_200, id: "proof-count-c" }));
      const sorted = async () =>
        (await store.countByStatus())
          .map((c) => ({ ...c }))
          .sort((x, y) => `${x.status}/${x.model}`.localeCompare(`${y.status}/${y.model}`));
      assert.deepEqual(await sorted(), [
        { status: "queued", model: "m-a", count: 2, oldestCreated: 1_750_000_050 },
        { status: "queued", model: "m-b", count: 1, oldestCreated: 1_750_000_200 },
      ]);
      await store.transition(a.id, "queued", "proving");
      assert.deepEqual(await sorted(), [
        { status: "proving", model: "m-a", count: 1, oldestCreated: 1_750_000_100 },
        { status: "queued", model: "m-a", count: 1, oldestCreated: 1_750_000_050 },
        { status: "queued", model: "m-b", count: 1, oldestCreated: 1_750_000_200 },
      ]);
      const counts = await (await other()).countByStatus();
      assert.equal(
        counts.reduce((total, c) => total + c.count, 0),
        3,
      );
      for (const c of counts) assert.equal(typeof c.count, "number");
    });

    test("findByStatus: what a sweep re-enqueues, oldest write first, past the lease only", async () => {
      const a = await store.create(newProofRecord({ model: "m", request: "a" }));
      nowMs += 1_000;
      const b = await store.create(newProofRecord({ model: "m", request: "b" }));
      await store.transition(b.id, "queued", "proving");
      const done = await store.create(newProofRecord({ model: "m", request: "done" }));
      await store.transition(done.id, "queued", "failed", { error: "x" });
      nowMs += 30_000;
      const c = await store.create(newProofRecord({ model: "m", request: "c" }));

      const ids = async (olderThanMs?: number, statuses: ProofStatus[] = ["queued", "proving"]) =>
        (await store.findByStatus({ statuses, olderThanMs })).map((r) => r.id);
      assert.deepEqual(await ids(20_000), [a.id, b.id]);
      assert.deepEqual(await ids(), [a.id, b.id, c.id]);
      assert.deepEqual(await ids(20_000, ["proving"]), [b.id]);
      assert.deepEqual(await ids(0, []), []);
      // A write renews the lease: a worker's heartbeat keeps its job out of the sweep.
      await store.update(a.id, { timings: { witness: 1 } });
      assert.deepEqual(await ids(20_000), [b.id]);
      assert.deepEqual(
        (await store.findByStatus({ statuses: ["queued", "proving"], limit: 1 })).map((r) => r.id),
        [b.id],
      );
    });

    test("findOnChain: one status on one chain, ids ascending, a page at a time", async () => {
      const verifiedOn = async (id: string, chainId: number | null): Promise<void> => {
        await store.create(newProofRecord({ id, model: "m", request: id }));
        await store.transition(id, "queued", "proving");
        await store.transition(id, "proving", "proved");
        if (chainId === null) return;
        const chain = {
          chainId,
          contract: "0xc0",
          txHash: `0x${id.slice(-2)}`,
          blockNumber: 7n,
          gasUsed: 21_000n,
          submittedBy: "0xab",
        };
        await store.transition(id, "proved", "submitted", { chain: { ...chain, blockNumber: null, gasUsed: null } });
        await store.transition(id, "submitted", "verified", { chain });
      };
      // created out of order: the page order is the ids', not the writes'
      for (const [id, chainId] of [
        ["proof-c3", 31337],
        ["proof-a1", 31337],
        ["proof-b2", 1],
        ["proof-d4", 31337],
        ["proof-e5", null],
      ] as const)
        await verifiedOn(id, chainId);
      await store.transition("proof-d4", "verified", "proved", { error: "gone" });
      const ids = async (chainId: number, after?: string, limit?: number, status: ProofStatus = "verified") =>
        (await store.findOnChain({ status, chainId, after, limit })).map((r) => r.id);
      assert.deepEqual(await ids(31337), ["proof-a1", "proof-c3"]);
      assert.deepEqual(await ids(1), ["proof-b2"]);
      assert.deepEqual(await ids(5), []);
      assert.deepEqual(await ids(31337, undefined, 1), ["proof-a1"]);
      assert.deepEqual(await ids(31337, "proof-a1", 1), ["proof-c3"]);
      assert.deepEqual(await ids(31337, "proof-c3"), []);
      assert.deepEqual(
        await ids(31337, undefined, undefined, "proved"),
        ["proof-d4"],
        "a record without a receipt (proof-e5) names no chain",
      );
      const [record] = await store.findOnChain({ status: "verified", chainId: 1 });
      assert.equal(record!.chain!.submittedBy, "0xab");
      await assert.rejects(
        store.findOnChain({ status: "nope" as ProofStatus, chainId: 1 }),
        rejectsWith("invalid_argument", "status"),
      );
      await assert.rejects(
        store.findOnChain({ status: "verified", chainId: -1 }),
        rejectsWith("invalid_argument", "chainId"),
      );
      await assert.rejects(
        store.findOnChain({ status: "verified", chainId: 1, limit: 0 }),
        rejectsWith("invalid_argument", "limit"),
      );
    });

    if (options.persistent !== false)
      test("survives close and reopen", async () => {
        assert.ok(opened.openAnother, "a persistent store opens another handle on its data");
        const { id } = await store.create(
          newProofRecord({ model: "m", request: { keep: "me" }, steps: queuedSteps(2) }),
        );
        await store.transition(id, "queued", "proving", { prover: "p" });
        await store.updateStep(id, 1, { status: "proved" });
        const before = await store.get(id);
        await store.close();
        await store.close(); // safe twice
        store = await opened.openAnother();
        assert.deepEqual(await store.get(id), before);
        assert.deepEqual(
          (await store.list()).data.map((r) => r.id),
          [id],
        );
      });
  });
}
