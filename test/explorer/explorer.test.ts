/**
 * The proof explorer in a real browser (Debian's chromium, driven by playwright-core): a real request
 * is proven by the in-process gateway and recorded on its embedded anvil chain, its page follows it
 * live until verified, and "Verify in your browser" runs snarkjs in the page and says valid; a record
 * whose public signals were tampered with (written straight into the store) says invalid, and so do
 * the records of issue 13 that carry valid proofs of something else than they show: a spam-labelled
 * record with a ham proof of another text, a completion showing tokens its steps do not prove, and a
 * proof forged under a key the server supplies (caught against a pasted hash or the chain's
 * registry). A screenshot of each page goes to test/screenshots/.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { chromium, type Browser, type Page } from "playwright-core";
import * as snarkjs from "snarkjs";
import { vkeyHash } from "../../src/snark/vkey-hash.js";
import { releaseSnarkWorkers, sharedBn128 } from "../../src/snark/snark-workers.js";
import { newId } from "../../src/core/ids.js";
import { newProofRecord, type ProofRecord, type WireProof } from "../../src/core/proof-record.js";
import { spamFeatures } from "../../src/model/spam-features.js";
import { loadCompiledModel } from "../../src/prover/compiled-model.js";
import { prove, type ProofFile } from "../../src/prover/prove.js";
import { verifyProof } from "../../src/prover/verify.js";
import { postJson, startChainGateway, type ChainGateway } from "../chain/gateway-chain.fixture.js";
import { PATIENCE_MS } from "../fixtures/until.js";

const CHROMIUM = "/usr/bin/chromium";
const SCREENSHOTS = "test/screenshots";
const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
/**
 * Proving a 3-token completion and recording it takes a few seconds; the page must get there on its
 * own (live updates). The cap on any wait of the page: far more than that, so only a hang reaches it.
 */
const FINAL_TIMEOUT_MS = PATIENCE_MS;

/**
 * A copy of `record`, proved, with one public signal changed: what a lying server would show. Marked
 * as not for the chain, so the gateway's submitter leaves it as it is.
 */
async function tamperedCopy(
  gw: ChainGateway,
  record: ProofRecord,
  change: (r: ProofRecord) => Partial<ProofRecord>,
  requestPatch: object = {},
): Promise<string> {
  const store = gw.proofs.store;
  const id = newId("proof");
  const request = { ...(record.request as object), ...requestPatch, submit: false };
  await store.create(
    newProofRecord({
      id,
      model: record.model,
      request,
      output: record.output,
      vkeyHash: record.vkeyHash,
      steps: record.steps,
    }),
  );
  await store.transition(id, "queued", "proving");
  const changed = { publicSignals: record.publicSignals, proof: record.proof, steps: record.steps, ...change(record) };
  await store.transition(id, "proving", "proved", { ...changed, prover: record.prover, timings: record.timings });
  return id;
}

type G1 = {
  fromObject(o: bigint[]): unknown;
  add(a: unknown, b: unknown): unknown;
  timesFr(a: unknown, s: unknown): unknown;
  neg(a: unknown): unknown;
  toAffine(a: unknown): unknown;
  toObject(a: unknown): bigint[];
};

/**
 * A key made to accept a proof of any signals: delta set to gamma, so A = alpha, B = beta and
 * C = −(IC₀ + Σ sᵢ·ICᵢ) satisfy the pairing equation. What a server that picks the key can do.
 */
async function forgedUnderOwnKey(
  vkey: Record<string, any>,
  signals: readonly string[],
): Promise<{ vkey: Record<string, unknown>; proof: unknown }> {
  await sharedBn128();
  const curve = (await snarkjs.curves.getCurveFromName("bn128")) as unknown as {
    G1: G1;
    Fr: { e(v: bigint): unknown };
  };
  const point = (xyz: string[]) => curve.G1.fromObject(xyz.map(BigInt));
  let sum = point(vkey.IC[0]);
  for (const [i, s] of signals.entries())
    sum = curve.G1.add(sum, curve.G1.timesFr(point(vkey.IC[i + 1]), curve.Fr.e(BigInt(s))));
  const c = curve.G1.toObject(curve.G1.toAffine(curve.G1.neg(sum))).map(String);
  const forged = { ...vkey, vk_delta_2: vkey.vk_gamma_2 };
  const proof = { pi_a: vkey.vk_alpha_1, pi_b: vkey.vk_beta_2, pi_c: c, protocol: "groth16", curve: "bn128" };
  assert.equal(
    await snarkjs.groth16.verify(forged, [...signals], proof as never),
    true,
    "the forgery verifies under its own key",
  );
  return { vkey: forged, proof };
}

function bump(signal: string): string {
  return (BigInt(signal) + 1n).toString();
}

describe("the proof explorer, in chromium", { timeout: 2 * PATIENCE_MS }, () => {
  let gw: ChainGateway;
  let origin: { url: string };
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];
  let spamId: string;
  let studentId: string;

  before(async () => {
    assert.ok(
      existsSync(CHROMIUM),
      `${CHROMIUM} is missing: make test installs Debian's chromium (the Makefile's browser step)`,
    );
    mkdirSync(SCREENSHOTS, { recursive: true });
    gw = await startChainGateway();
    origin = { url: gw.url };
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.setDefaultTimeout(FINAL_TIMEOUT_MS);
    page.on("pageerror", (err) => pageErrors.push(err.message));
    page.on("console", (msg) => {
      // a model without a setup transcript answers 404, which the page shows as "no transcript"; chromium logs the 404 anyway
      const noTranscript = /status of 404/.test(msg.text()) && /\/v1\/models\/[^/]+\/setup$/.test(msg.location().url);
      if (msg.type() === "error" && !noTranscript) pageErrors.push(`${msg.text()} (${msg.location().url})`);
    });

    // real requests; the pages see them proved on their own
    const res = await postJson(`${gw.url}/v1/inferences`, {
      model: "pg-spam",
      input: "Subject: WIN CASH NOW\n\nClick here to claim your free prize money",
    });
    assert.equal(res.status, 200);
    spamId = (res.body as { proof: { id: string } }).proof.id;
    const completion = await gw.client.completions.create({ model: "pg-student", prompt: "The sea", max_tokens: 3 });
    studentId = (completion as unknown as { proof: { id: string } }).proof.id;
  });

  after(async () => {
    await browser?.close();
    await gw?.close();
    await releaseSnarkWorkers();
  });

  const shot = (name: string) => page.screenshot({ path: `${SCREENSHOTS}/${name}.png`, fullPage: true });

  async function openProof(id: string): Promise<void> {
    await page.goto(`${origin.url}/explorer/proofs/${id}`);
    await page.locator("#proof-id").filter({ hasText: id }).waitFor();
  }

  async function verify(): Promise<string> {
    await page.getByRole("button", { name: "Verify in your browser" }).click();
    const result = page.locator("#verify-result");
    await page.waitForFunction(
      () => ["valid", "invalid"].includes(document.querySelector("#verify-result")?.getAttribute("data-state") ?? ""),
      null,
      { timeout: FINAL_TIMEOUT_MS },
    );
    return (await result.textContent())!.trim();
  }

  it("serves the page, its assets and snarkjs outside /v1", async () => {
    for (const path of ["/explorer", "/explorer/models", "/explorer/workers", `/explorer/proofs/${spamId}`]) {
      const res = await fetch(`${origin.url}${path}`);
      assert.equal(res.status, 200, path);
      assert.match(res.headers.get("content-type")!, /^text\/html/);
      assert.match(await res.text(), /explorer\.js/);
    }
    const js = await fetch(`${origin.url}/explorer/assets/explorer.js`);
    assert.match(js.headers.get("content-type")!, /javascript/);
    const snarkjs = await fetch(`${origin.url}/explorer/assets/snarkjs.min.js`);
    assert.equal(snarkjs.status, 200);
    assert.match((await snarkjs.text()).slice(0, 40), /^var snarkjs=/);
    assert.equal((await fetch(`${origin.url}/explorer/assets/nope.js`)).status, 404);
  });

  it("a classifier inference: the page follows it to verified on-chain, and it verifies in the browser", async () => {
    await openProof(spamId);
    await shot("proof-inference-live"); // most likely still queued or proving
    await page.locator('#proof-status [data-status="verified"]').waitFor({ timeout: FINAL_TIMEOUT_MS });
    await page.locator("#public-signals table").waitFor();
    assert.match((await page.locator("#request-json").textContent())!, /"kind": "inference"/);
    const record = (await gw.proofs.store.get(spamId))!;
    const chain = (await page.locator("#chain").textContent())!;
    for (const text of [
      "31337",
      gw.chain.deployment.registry,
      record.chain!.txHash,
      record.chain!.blockNumber!.toString(),
      record.chain!.gasUsed!.toLocaleString("en-US"),
      record.chain!.inputCommitment!,
      record.chain!.submittedBy!,
    ]) {
      assert.ok(chain.includes(text), `${text} in ${chain}`);
    }
    assert.equal(await page.locator("#timeline .ms-done").count(), 5, "queued, proving, proved, submitted, verified");
    assert.equal(await verify(), "valid");
    const checks = await page.locator("#verify-checks li").allTextContents();
    assert.ok(
      checks.some((c) => /Groth16 proof/.test(c)),
      checks.join("\n"),
    );
    assert.ok(
      checks.some((c) => /Verification key hash.*matches/.test(c)),
      checks.join("\n"),
    );
    for (const what of [
      /✓Input commitment.*recomputed here with Poseidon/,
      /✓Output label/,
      /✓Request nonce/,
      /✓Features of the text/,
      /–Key.*taken from the server, not independently checked/,
    ]) {
      assert.ok(
        checks.some((c) => what.test(c)),
        `${what} in\n${checks.join("\n")}`,
      );
    }
    assert.match((await page.locator("#verify-trust").textContent())!, /The verification key: the server's/);
    assert.match(
      (await page.locator("#verify-decoded").textContent())!,
      new RegExp(`input commitment${record.chain!.inputCommitment}`),
    );
    // the same key, checked on the chain's registry through the node the user names, and against the hash they paste
    await page.waitForFunction(
      (want) => (document.querySelector("#registry-address") as HTMLInputElement | null)?.value === want,
      gw.chain.deployment.registry,
    );
    assert.match((await page.locator("#registry-note").textContent())!, /taken from this server's \/v1\/chain/);
    await page.fill("#rpc-url", gw.chain.connection.anvil!.url);
    await page.fill("#vkey-hash-expected", record.vkeyHash!);
    assert.equal(await verify(), "valid");
    const independent = await page.locator("#verify-checks li.ok").allTextContents();
    assert.ok(
      independent.some((c) => /^✓Key on-chain.*registers this key/.test(c)),
      independent.join("\n"),
    );
    assert.ok(
      independent.some((c) => /^✓Proof on-chain.*the registry's verifier accepts the proof/.test(c)),
      independent.join("\n"),
    );
    assert.ok(
      independent.some((c) => /^✓Key you expect/.test(c)),
      independent.join("\n"),
    );
    // the download is a proof file `proofgate verify` checks, claims and all
    const [download] = await Promise.all([page.waitForEvent("download"), page.click("#download-proof")]);
    const file = JSON.parse(await readFile((await download.path())!, "utf8")) as ProofFile;
    const spam = await loadCompiledModel("artifacts/models/pg-spam");
    assert.deepEqual(await verifyProof(spam.manifest, spam.vkey, file), {
      valid: true,
      reason: `valid under vkey_hash ${record.vkeyHash} (model ${spam.manifest.model_id}): {"label":${record.output && (record.output as { label_id: number }).label_id}}`,
    });
    await shot("proof-inference");
  });

  it("a completion: its trace step by step, chained, recorded on-chain, and every step verifies in the browser", async () => {
    await openProof(studentId);
    await page.locator('#proof-status [data-status="verified"]').waitFor({ timeout: FINAL_TIMEOUT_MS });
    const rows = page.locator("#trace tbody tr");
    assert.equal(await rows.count(), 3);
    assert.equal(await page.locator("#trace td.link.ok").count(), 2, "steps 1 and 2 chain to the one before");
    assert.equal(await verify(), "valid");
    const checks = await page.locator("#verify-checks li.ok").allTextContents();
    assert.ok(checks.filter((c) => /^✓Step \d/.test(c)).length === 3, checks.join("\n"));
    assert.ok(
      checks.some((c) => /Chain of choice 0/.test(c)),
      checks.join("\n"),
    );
    assert.ok(
      checks.some((c) => /^✓Tokens of choice 0/.test(c)),
      checks.join("\n"),
    );
    // on the chain: the key is registered as a token-step circuit of this width and context, and its verifier takes every step
    await page.fill("#rpc-url", gw.chain.connection.anvil!.url);
    assert.equal(await verify(), "valid");
    const onChain = await page.locator("#verify-checks li.ok").allTextContents();
    assert.ok(
      onChain.some((c) => /^✓Key on-chain/.test(c)) && onChain.some((c) => /^✓Proof on-chain.*all 3 proofs/.test(c)),
      onChain.join("\n"),
    );
    await shot("proof-completion");
  });

  it("tampered public signals say invalid, for a single proof and for a step of a completion", async () => {
    const spam = (await gw.proofs.store.get(spamId))!;
    const forged = await tamperedCopy(gw, spam, (r) => ({
      publicSignals: [bump(r.publicSignals![0]!), ...r.publicSignals!.slice(1)],
    }));
    await openProof(forged);
    await page.locator('#proof-status [data-status="proved"]').waitFor();
    assert.equal(await verify(), "invalid");
    assert.match((await page.locator("#verify-checks li.bad").first().textContent())!, /Groth16 proof/);
    await shot("proof-tampered");

    const student = (await gw.proofs.store.get(studentId))!;
    const forgedSteps = await tamperedCopy(gw, student, (r) => ({
      steps: r.steps.map((st) =>
        st.index === 1 ? { ...st, publicSignals: [st.publicSignals![0]!, bump(st.publicSignals![1]!)] } : st,
      ),
    }));
    await openProof(forgedSteps);
    await page.locator('#proof-status [data-status="proved"]').waitFor();
    assert.equal(await page.locator("#trace td.link.bad").count(), 1, "step 2 no longer chains to step 1");
    assert.equal(await verify(), "invalid");
    const bad = await page.locator("#verify-checks li.bad").allTextContents();
    assert.ok(bad.some((c) => /Step 1/.test(c)) && bad.some((c) => /Chain of choice 0/.test(c)), bad.join("\n"));
    await shot("proof-tampered-completion");
  });

  it("a spam-labelled record carrying a ham proof of another text says invalid: the commitment differs, or with the proof's own sample and label shown, the text's features", async () => {
    const spam = (await gw.proofs.store.get(spamId))!;
    // a valid proof of another text, with its own nonce, as a lying server would attach it
    const text = "Subject: lunch on Friday\n\nAre we still meeting at noon near the office?";
    const ham = await prove(await loadCompiledModel("artifacts/models/pg-spam"), {
      sample: Array.from(spamFeatures(text)),
      nonce: 77n,
    });
    const forged = await tamperedCopy(gw, spam, () => ({ publicSignals: [...ham.public_signals], proof: ham.proof }));
    await openProof(forged);
    await page.locator('#proof-status [data-status="proved"]').waitFor();
    assert.equal(await verify(), "invalid");
    const checks = await page.locator("#verify-checks li").allTextContents();
    assert.ok(
      checks.some((c) => /^✓Groth16 proof/.test(c)),
      `the proof itself is valid:\n${checks.join("\n")}`,
    );
    assert.ok(
      checks.some((c) => /^✗Input commitment.*another input or nonce/.test(c)),
      checks.join("\n"),
    );
    await shot("proof-other-text");

    // the same proof with its own sample, nonce and label shown, under the spam text: only the text's features tell
    const relabeled = await tamperedCopy(
      gw,
      spam,
      () => ({
        publicSignals: [...ham.public_signals],
        proof: ham.proof,
        output: { ...(spam.output as object), label: "ham", label_id: ham.output },
      }),
      // a lying server drops the request binding it cannot fake; the page then says the nonce was taken on trust
      {
        nonce: "77",
        sample: ham.input,
        served: { ...(spam.request as { served: object }).served, argmax: ham.output },
        content_hash: undefined,
        salt: undefined,
      },
    );
    await openProof(relabeled);
    await page.locator('#proof-status [data-status="proved"]').waitFor();
    assert.equal(await verify(), "invalid");
    const only = await page.locator("#verify-checks li.bad").allTextContents();
    assert.equal(only.length, 1, only.join("\n"));
    assert.match(only[0]!, /^✗Features of the text.*the proof is about another text/);
  });

  it("a completion showing tokens its steps do not prove says invalid", async () => {
    const student = (await gw.proofs.store.get(studentId))!;
    const output = student.output as { choices: { tokens: number[] }[] };
    const shown = [999, 998, 997];
    assert.equal(output.choices[0]!.tokens.length, 3);
    // the tokens a lying server lists, in the output and in each step, over the real steps' proofs
    const forged = await tamperedCopy(gw, student, (r) => ({
      output: { ...output, choices: output.choices.map((c) => ({ ...c, tokens: shown })) },
      steps: r.steps.map((st) => ({
        ...st,
        output: { ...(st.output as object), token: shown[(st.output as { position: number }).position] },
      })),
    }));
    await openProof(forged);
    await page.locator('#proof-status [data-status="proved"]').waitFor();
    assert.equal(await verify(), "invalid");
    const checks = await page.locator("#verify-checks li").allTextContents();
    assert.equal(
      checks.filter((c) => /^✓Step \d/.test(c)).length,
      3,
      `every step's proof is valid:\n${checks.join("\n")}`,
    );
    assert.ok(
      checks.some((c) => /^✗Tokens of choice 0.*proves token \d+, the record shows 999/.test(c)),
      checks.join("\n"),
    );
    await shot("proof-other-tokens");
  });

  it("a proof forged under a key the server supplies: valid only on the server's word; a pasted hash or the registry says invalid", async () => {
    const spam = (await gw.proofs.store.get(spamId))!;
    const realKey = (await (await fetch(`${gw.url}/v1/proofs/${spamId}/verification_key`)).json()) as Record<
      string,
      unknown
    >;
    const { vkey, proof } = await forgedUnderOwnKey(realKey, spam.publicSignals!);
    const forged = await tamperedCopy(gw, spam, () => ({ proof, vkeyHash: vkeyHash(vkey) }));
    await page.route(`**/v1/proofs/${forged}/verification_key`, (route) => route.fulfill({ json: vkey }));
    try {
      await openProof(forged);
      await page.locator('#proof-status [data-status="proved"]').waitFor();
      assert.equal(await verify(), "valid", "nothing in the page can tell without a key of the user's own");
      assert.ok(
        (await page.locator("#verify-checks li").allTextContents()).some((c) =>
          /^–Key.*taken from the server, not independently checked/.test(c),
        ),
      );
      await page.fill("#vkey-hash-expected", spam.vkeyHash!);
      assert.equal(await verify(), "invalid");
      assert.ok(
        (await page.locator("#verify-checks li.bad").allTextContents()).some((c) =>
          /^✗Key you expect.*is not the/.test(c),
        ),
      );
      await page.fill("#vkey-hash-expected", "");
      await page.fill("#rpc-url", gw.chain.connection.anvil!.url);
      assert.equal(await verify(), "invalid");
      const bad = await page.locator("#verify-checks li.bad").allTextContents();
      assert.ok(
        bad.some((c) => /^✗Key on-chain.*has no model under key/.test(c)),
        bad.join("\n"),
      );
      await shot("proof-forged-key");
    } finally {
      await page.unroute(`**/v1/proofs/${forged}/verification_key`);
    }
  });

  it("the list finds a record by its transaction hash and by its input commitment", async () => {
    const chain = (await gw.proofs.store.get(spamId))!.chain!;
    for (const q of [chain.txHash.toUpperCase().replace("0X", "0x"), chain.inputCommitment!]) {
      await page.goto(`${origin.url}/explorer?q=${q}`);
      await page.waitForFunction((want) => {
        const ids = [...document.querySelectorAll("#proof-rows tr[data-id]")].map(
          (tr) => (tr as HTMLElement).dataset.id,
        );
        return ids.length === 1 && ids[0] === want;
      }, spamId);
    }
  });

  it("the list shows the records, live, filters by model and status, and finds a proof by id", async () => {
    await page.goto(`${origin.url}/explorer`);
    const rows = page.locator("#proof-rows tr[data-id]");
    await page.locator(`#proof-rows tr[data-id="${spamId}"]`).waitFor();
    await page.locator(`#proof-rows tr[data-id="${studentId}"]`).waitFor();
    assert.equal(await rows.count(), 8, "the two requests and the six tampered copies");
    await shot("list");

    await page.selectOption("#filter-model", "pg-student");
    await page.waitForFunction(() =>
      [...document.querySelectorAll("#proof-rows tr[data-id]")].every(
        (tr) => (tr as HTMLElement).dataset.model === "pg-student",
      ),
    );
    assert.equal(await rows.count(), 3);
    assert.match(page.url(), /model=pg-student/);

    await page.selectOption("#filter-model", "");
    await page.selectOption("#filter-status", "failed");
    await page.locator("#proof-rows tr.empty").waitFor();
    await page.selectOption("#filter-status", "verified");
    await page.waitForFunction(() => [...document.querySelectorAll("#proof-rows tr[data-id]")].length === 2);
    await page.locator(`#proof-rows tr[data-id="${spamId}"]`).waitFor();
    await page.selectOption("#filter-status", "proved");
    await page.waitForFunction(() => [...document.querySelectorAll("#proof-rows tr[data-id]")].length === 6);
    assert.equal(
      await page.locator(`#proof-rows tr[data-id="${spamId}"]`).count(),
      0,
      "the real records went on to verified",
    );

    await page.selectOption("#filter-status", "");
    await page.fill("#search", studentId);
    await page.press("#search", "Enter");
    await page.waitForFunction((id) => {
      const ids = [...document.querySelectorAll("#proof-rows tr[data-id]")].map((tr) => (tr as HTMLElement).dataset.id);
      return ids.length === 1 && ids[0] === id;
    }, studentId);
    await shot("list-search");

    // a row's link opens its page, in the page
    await page.locator(`#proof-rows a[href$="${studentId}"]`).click();
    await page.locator("#proof-id").filter({ hasText: studentId }).waitFor();
    assert.equal(new URL(page.url()).pathname, `/explorer/proofs/${studentId}`);
  });

  it("the models and workers views render counts, circuit sizes, proving times and the latency chart", async () => {
    const stats = await fetch(`${gw.url}/v1/stats`);
    const hasStats = stats.status === 200;
    await stats.body?.cancel();

    await page.goto(`${origin.url}/explorer/models`);
    await page.locator('#models-table tr[data-model="pg-spam"]').waitFor();
    await page.locator('#models-table tr[data-model="pg-student"]').waitFor();
    if (hasStats) {
      await page.locator("#latency-chart circle").first().waitFor();
      const spam = (await page.locator('#models-table tr[data-model="pg-spam"]').textContent())!;
      assert.match(spam, /classify/);
      assert.match(spam, /\d+ proved/);
    }
    // each model's trusted-setup transcript: the shipped ones carry three phase-2 steps, the last a beacon
    const setup = page.locator("#setup-pg-spam:not([data-state=loading])");
    await setup.waitFor();
    assert.equal(await setup.getAttribute("data-state"), "shown");
    assert.match(
      (await setup.textContent())!,
      /Phase 1.*Phase 2 contributions.*proofgate compile.*outside contributor.*final beacon.*Random beacon.*2\^10 iterations/s,
    );
    await shot("models");

    await page.goto(`${origin.url}/explorer/workers`);
    if (hasStats) {
      const record = (await (await fetch(`${gw.url}/v1/proofs/${spamId}`)).json()) as WireProof;
      await page.locator(`#workers-table tr[data-prover="${record.prover}"]`).waitFor();
    } else await page.locator(".notice").waitFor();
    await shot("workers");
  });

  it("logged no error in the page", () => {
    assert.deepEqual(pageErrors, []);
  });
});
