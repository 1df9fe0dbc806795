import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { bindingFiles, committedBindings } from "../../src/chain/contract-bindings.js";
import {
  CONTRACTS_ARTIFACT,
  GENERATED_DIR,
  commitmentHashInputs,
  contractSources,
  shippedCircuits,
  sourcesHash,
  type ContractsArtifact,
} from "../../src/chain/contract-build.js";
import { poseidonSolidity } from "../../src/chain/poseidon-contract.js";
import { InferenceRegistryKind } from "../../src/chain/bindings/enums.js";
import { builtInRegistrySource, MODEL_KIND, verifyingKeyWords } from "../../src/chain/registry-source.js";
import { compileSolidity } from "../../src/chain/solidity.js";

const artifact = JSON.parse(readFileSync(CONTRACTS_ARTIFACT, "utf8")) as ContractsArtifact;

test("contracts/generated/ is what the shipped circuits generate (run `make contracts` after changing them)", () => {
  const circuits = shippedCircuits();
  assert.equal(readFileSync(join(GENERATED_DIR, "ProofgateRegistry.sol"), "utf8"), builtInRegistrySource(circuits));
  const arities = [...new Set(circuits.map((c) => commitmentHashInputs(c.manifest)).filter((n) => n !== null))];
  assert.deepEqual(arities, [7], "pg-spam commits to Poseidon(model, nonce, 5 words)");
  for (const n of arities)
    assert.equal(readFileSync(join(GENERATED_DIR, `PoseidonT${n + 1}.sol`), "utf8"), poseidonSolidity(n));
});

test("the committed artifact was compiled from the current sources, and every contract fits EIP-170", () => {
  assert.equal(
    artifact.sources_sha256,
    sourcesHash(contractSources()),
    "artifacts/contracts/contracts.json is stale: run `make contracts`",
  );
  for (const name of ["ProofgateRegistry", "InferenceOracle", "MessageBoard", "CompletionStore", "PoseidonT8"]) {
    const c = artifact.contracts[name];
    assert.ok(c, `${name} is in the artifact`);
    assert.ok(c.deployedSize > 0 && c.deployedSize < 24_576, `${name}: ${c.deployedSize} bytes`);
  }
});

test("src/chain/bindings/ is what the artifact's ABIs and the contracts' enums generate (run `make contracts` after changing them)", async () => {
  const generated = await bindingFiles(artifact, contractSources());
  const committed = await committedBindings();
  assert.deepEqual(Object.keys(committed).sort(), Object.keys(generated).sort(), "the same files");
  for (const [path, text] of Object.entries(generated))
    assert.equal(committed[path], text, `src/chain/bindings/${path} is stale`);
  assert.match(
    generated["enums.ts"],
    /InferenceOracleStatus = \{\n {2}None: 0n,\n {2}Pending: 1n,\n {2}Fulfilled: 2n,\n {2}Refunded: 3n,/,
  );
});

test("the registry source numbers model kinds as the contract's Kind enum does", () => {
  const { TokenStep, Classify, Tensor } = InferenceRegistryKind;
  assert.deepEqual(MODEL_KIND, { "token-step": Number(TokenStep), classify: Number(Classify), tensor: Number(Tensor) });
});

test("the verifying key words follow the precompile's G2 order (imaginary part first)", () => {
  const { vkey } = shippedCircuits()[0];
  const words = verifyingKeyWords(vkey);
  const beta = vkey.vk_beta_2 as string[][];
  assert.equal(words.length, 14 + 2 * (vkey.IC as unknown[]).length);
  assert.deepEqual(words.slice(2, 6), [beta[0][1], beta[0][0], beta[1][1], beta[1][0]].map(BigInt));
});

test("a Solidity error comes back as solc's message", () => {
  assert.throws(
    () =>
      compileSolidity({
        "Bad.sol": "pragma solidity ^0.8.24; contract Bad { function f() public { undefinedThing(); } }",
      }),
    /solc: .*undefinedThing/s,
  );
});
