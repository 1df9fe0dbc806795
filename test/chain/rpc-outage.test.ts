/**
 * The RPC goes away while a proof is on its way on-chain: the gateway runs on an anvil of its own
 * ($RPC_URL, $PRIVATE_KEY) that keeps its state in a file. Anvil stops (saving its state) right after
 * the request is answered, so the proof is made and the submission fails; the submitter retries, the
 * record never fails, and once anvil is back on the same port with the same state the record ends
 * verified, on-chain exactly once. A gateway restarted on that chain finds its contracts again.
 */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ANVIL_DEV_KEY, freePort, startAnvil, type Anvil } from "../../src/chain/anvil.js";
import { InferenceRegistry__factory } from "../../src/chain/bindings/index.js";
import { deploymentFile, type Deployment } from "../../src/chain/deployment.js";
import { releaseSnarkWorkers } from "../../src/snark/snark-workers.js";
import type { InferenceProofRequest } from "../../src/prover/proof-request.js";
import {
  getJson,
  postJson,
  startChainGateway,
  until,
  waitForProof,
  type ChainGateway,
} from "./gateway-chain.fixture.js";

const HAM = "Hi Bob, are we still meeting for lunch tomorrow at noon? Thanks, Alice";

after(releaseSnarkWorkers);

describe("an RPC outage in the middle of a submission", () => {
  const dir = mkdtempSync(join(tmpdir(), "proofgate-outage-"));
  const statePath = join(dir, "anvil.json");
  const dataDir = join(dir, "data");
  let anvil: Anvil | undefined;
  let gw: ChainGateway | undefined;
  after(async () => {
    await gw?.close();
    await anvil?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("retries while the chain is away, then verifies the record exactly once", async () => {
    const port = await freePort();
    anvil = await startAnvil({ port, statePath });
    const env = { RPC_URL: anvil.url, PRIVATE_KEY: ANVIL_DEV_KEY };
    gw = await startChainGateway({ env, dataDir });
    const deployment = gw.chain.deployment;
    assert.equal(gw.chain.connection.anvil, null, "not embedded: the gateway uses RPC_URL");

    const res = await postJson(`${gw.url}/v1/inferences`, { model: "pg-spam", input: HAM });
    assert.equal(res.status, 200, res.text);
    const id = (res.body as { proof: { id: string } }).proof.id;
    // the chain goes away before the proof is made (a pg-spam proof takes well over the few ms this takes)
    await anvil.stop();
    const atStop = (await gw.proofs.store.get(id))!.status;
    assert.ok(atStop === "queued" || atStop === "proving", `the record was ${atStop} when the chain went away`);

    const retries = (): string[] => gw!.logs.filter((l) => l.includes(id) && l.includes("will retry"));
    // proved without the chain, then the submission fails and is retried
    await until(
      async () => retries().length,
      (n) => n >= 1,
      { what: "a logged submission retry" },
    );
    await until(
      async () => retries().length,
      (n) => n >= 2,
      { what: "a second submission retry, after its backoff" },
    );
    const during = (await gw.proofs.store.get(id))!;
    assert.ok(
      during.status === "proved" || during.status === "submitted",
      `a record whose RPC is away is ${during.status}, not failed`,
    );
    assert.match(during.error ?? "", /submission retrying/);
    assert.ok(
      retries().length >= 2,
      `retried with backoff while the chain was away (${retries().length} retries logged)`,
    );
    const wire = await getJson<{ status: string }>(`${gw.url}/v1/proofs/${id}`);
    assert.equal(wire.body.status, during.status);

    // back on the same port, from the state it saved
    anvil = await startAnvil({ port, statePath });
    const record = await waitForProof(gw.url, id);
    assert.equal(record.status, "verified", record.error ?? "");
    assert.equal(record.chain!.contract, deployment.registry);

    const { provider } = gw.chain.connection;
    const registry = InferenceRegistry__factory.connect(deployment.registry, provider);
    const key = deployment.models[(record.request as InferenceProofRequest).circuit]!.key;
    const { inputCommitment: commitment } = await registry.decode(key, record.public_signals!);
    const events = await registry.queryFilter(
      registry.filters.InferenceVerified(key, commitment),
      deployment.from_block,
    );
    assert.equal(events.length, 1, "verified on-chain exactly once");
    assert.equal(record.chain!.tx_hash, events[0]!.transactionHash);
    assert.equal(record.chain!.block_number, String(events[0]!.blockNumber));
    const receipt = (await provider.getTransactionReceipt(record.chain!.tx_hash))!;
    assert.equal(receipt.status, 1);
    assert.equal(record.chain!.gas_used, String(receipt.gasUsed));
    // /metrics: the failed attempts as RPC errors, one submission to the registry with the receipt's gas
    const metrics = await (await fetch(`${gw.url}/metrics`)).text();
    const value = (name: string): number =>
      Number(
        metrics
          .split("\n")
          .find((l) => l.startsWith(name))
          ?.split(" ")
          .at(-1) ?? "NaN",
      );
    assert.ok(value('proofgate_chain_errors_total{kind="rpc"}') >= 2, "the retries counted as chain errors");
    assert.equal(value(`proofgate_chain_submissions_total{contract="${deployment.registry}"}`), 1);
    assert.equal(value(`proofgate_chain_gas_used_total{contract="${deployment.registry}"}`), Number(receipt.gasUsed));

    for (const line of gw.logs)
      assert.ok(
        !line.toLowerCase().includes(ANVIL_DEV_KEY.slice(2)),
        `the private key is in the log: ${line.slice(0, 200)}`,
      );
    const chainInfo = await getJson<unknown>(`${gw.url}/v1/chain`);
    assert.equal(chainInfo.body && (chainInfo.body as { embedded: boolean }).embedded, false);
    assert.ok(!chainInfo.text.toLowerCase().includes(ANVIL_DEV_KEY.slice(2)));
  });

  it("a gateway restarted on that chain finds its contracts again, and the record stays verified once", async () => {
    const before = JSON.parse(readFileSync(deploymentFile(dataDir, 31337), "utf8")) as Deployment;
    const id = (await gw!.proofs.store.list({ model: "pg-spam", limit: 1 })).data[0]!.id;
    await gw!.close();
    // and the chain restarts too, from its saved state
    await anvil!.stop();
    anvil = await startAnvil({ port: anvil!.port, statePath });
    gw = await startChainGateway({ env: { RPC_URL: anvil.url, PRIVATE_KEY: ANVIL_DEV_KEY }, dataDir });
    assert.deepEqual(gw.chain.deployment, before);
    assert.ok(gw.logs.some((l) => l.includes("contracts already deployed")));
    const record = await waitForProof(gw.url, id);
    assert.equal(record.status, "verified", record.error ?? "");
    await gw.chain.submitter.pass(); // one more pass after it was verified: nothing goes on-chain twice
    const registry = InferenceRegistry__factory.connect(before.registry, gw.chain.connection.provider);
    const events = await registry.queryFilter(registry.filters.InferenceVerified(), before.from_block);
    assert.equal(events.length, 1);
    assert.equal(events[0]!.transactionHash, record.chain!.tx_hash);
  });
});
