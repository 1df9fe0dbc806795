/**
 * A gateway restart loses no proof: `proofgate serve` on the embedded defaults (SQLite in a temporary
 * $PROOFGATE_DATA_DIR, the in-process queue because nothing answers at $REDIS_URL) records proofs
 * with no provers, stops, and starts again with a prover; the re-enqueue sweep finds the stored
 * records that the old process's in-memory queue took with it, and every one ends proved. Needs
 * neither Redis nor PostgreSQL.
 */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PATIENCE_MS, settledProof } from "../fixtures/until.js";
import { freePort, startServe, type CliProcess } from "./prover-cluster.fixture.js";

const dataDir = mkdtempSync(join(tmpdir(), "proofgate-restart-"));
const processes: CliProcess[] = [];

after(async () => {
  await Promise.allSettled(processes.map((p) => p.kill()));
  rmSync(dataDir, { recursive: true, force: true });
});

interface ProofRefWire {
  readonly id: string;
  readonly status: string;
  readonly url: string;
}

async function post(
  base: string,
  path: string,
  body: unknown,
): Promise<{ proof?: ProofRefWire } & Record<string, unknown>> {
  const res = await fetch(`${base}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const json = (await res.json()) as { proof?: ProofRefWire } & Record<string, unknown>;
  assert.equal(res.status, 200, `${path}: ${JSON.stringify(json)}`);
  return json;
}

async function getProof(base: string, id: string): Promise<Record<string, unknown>> {
  const res = await fetch(`${base}/v1/proofs/${id}`);
  const json = (await res.json()) as Record<string, unknown>;
  assert.equal(res.status, 200, `GET /v1/proofs/${id}: ${JSON.stringify(json)}`);
  return json;
}

test("serve: proofs recorded before a restart, with no prover and an in-process queue, are all proved after it", {
  timeout: 2 * PATIENCE_MS,
}, async () => {
  const env = {
    PROOFGATE_DATA_DIR: dataDir,
    // nothing listens there: serve falls back to its in-process queue, which a restart empties
    REDIS_URL: "redis://127.0.0.1:1",
    PROOFGATE_LOG_LEVEL: "warn",
  };
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;

  const first = await startServe("serve-1", port, { ...env, PROVERS: "0" });
  processes.push(first);
  const ids: string[] = [];
  for (const text of ["win a free cruise now", "see you at lunch tomorrow", "claim your prize money today"]) {
    const answer = await post(base, "/v1/inferences", { model: "pg-spam", input: text });
    assert.ok(answer.proof, `an inference of pg-spam is proven: ${JSON.stringify(answer)}`);
    assert.equal(answer.proof.status, "queued");
    ids.push(answer.proof.id);
  }
  for (const prompt of ["The sea", "Once upon a time"]) {
    const answer = await post(base, "/v1/completions", { model: "pg-student", prompt, max_tokens: 4 });
    assert.ok(answer.proof, `a completion of pg-student is proven: ${JSON.stringify(answer)}`);
    assert.equal(answer.proof.status, "queued");
    ids.push(answer.proof.id);
  }
  // nothing proves them in this process (PROVERS=0): still queued when it stops
  for (const id of ids) assert.equal((await getProof(base, id)).status, "queued", `${id} waits`);
  assert.deepEqual(await first.stop("SIGTERM"), { code: 0, signal: null }, "the first gateway stops cleanly");

  // the sweep re-enqueues records queued past the lease; 10 s, so that on a loaded machine a live
  // prover's late heartbeat does not get its records taken over and proved again
  const second = await startServe("serve-2", port, {
    ...env,
    PROVERS: "1",
    PROVER_CONCURRENCY: "2",
    PROOFGATE_SWEEP_INTERVAL_MS: "500",
    PROOFGATE_PROOF_LEASE_MS: "10000",
  });
  processes.push(second);
  const finals = await Promise.all(ids.map((id) => settledProof(base, id, ["proved", "failed"])));
  assert.deepEqual(
    finals.map((p) => [p.id, p.status, p.error ?? null]),
    ids.map((id) => [id, "proved", null]),
  );
  assert.deepEqual(await second.stop("SIGTERM"), { code: 0, signal: null }, "the second gateway stops cleanly");
});
