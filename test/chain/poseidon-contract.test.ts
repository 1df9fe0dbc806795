import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { buildPoseidon } from "circomlibjs";
import { type Contract, ContractFactory, JsonRpcProvider, NonceManager, Wallet, isError } from "ethers";
import { ANVIL_DEV_KEY, startAnvil, type Anvil } from "../../src/chain/anvil.js";
import { poseidonLayout, poseidonSolidity } from "../../src/chain/poseidon-contract.js";
import { FIELD_PRIME as P } from "../../src/snark/field.js";
import { compileSolidity } from "../../src/chain/solidity.js";

const EIP170 = 24_576;

/** Deterministic pseudo-random words: sha256(label, i) as a 256-bit integer. */
function word(label: string, i: number): bigint {
  return BigInt(`0x${createHash("sha256").update(`${label}:${i}`).digest("hex")}`);
}

/** Zeros, small numbers, the top of the field, random elements just under the modulus and anywhere in it. */
function cases(n: number): bigint[][] {
  const lanes = (f: (i: number) => bigint) => Array.from({ length: n }, (_, i) => f(i));
  return [
    lanes(() => 0n),
    lanes((i) => BigInt(i + 1)),
    lanes(() => P - 1n),
    lanes((i) => (i % 2 === 0 ? P - 1n : 0n)),
    lanes((i) => P - 1n - (word(`near${n}`, i) >> 192n)), // within 2^64 of the modulus
    lanes((i) => P - 1n - (word(`near2-${n}`, i) >> 128n)),
    lanes((i) => word(`any${n}`, i) % P),
    lanes((i) => word(`any2-${n}`, i) % P),
  ];
}

let anvil: Anvil;
let provider: JsonRpcProvider;
let signer: NonceManager;
let poseidon: Awaited<ReturnType<typeof buildPoseidon>>;
/** One deployment per input count, made by whichever test needs it first (each test runs alone too). */
const deployed = new Map<number, Promise<{ contract: Contract; deployedSize: number }>>();

before(async () => {
  [anvil, poseidon] = await Promise.all([startAnvil(), buildPoseidon()]);
  provider = new JsonRpcProvider(anvil.url, anvil.chainId, { staticNetwork: true });
  signer = new NonceManager(new Wallet(ANVIL_DEV_KEY, provider));
});

after(async () => {
  provider?.destroy();
  await anvil?.stop();
});

function deploy(n: number): Promise<{ contract: Contract; deployedSize: number }> {
  let deployment = deployed.get(n);
  if (!deployment) {
    deployment = (async () => {
      const name = `PoseidonT${n + 1}`;
      const compiled = compileSolidity({ [`${name}.sol`]: poseidonSolidity(n) })[name];
      assert.ok(compiled, `${name} compiled`);
      const contract = (await new ContractFactory(
        compiled.abi as never,
        compiled.bytecode,
        signer,
      ).deploy()) as unknown as Contract;
      await contract.waitForDeployment();
      return { contract, deployedSize: compiled.deployedSize };
    })();
    deployed.set(n, deployment);
  }
  return deployment;
}

test("the generator takes 1 to 16 inputs and names the contract by t", () => {
  for (const bad of [0, 17, -1, 2.5, Number.NaN]) assert.throws(() => poseidonSolidity(bad), RangeError, String(bad));
  const source = poseidonSolidity(7);
  assert.match(source, /^\/\/ SPDX-License-Identifier: MIT\n/);
  assert.match(source, /pragma solidity \^0\.8\.24;/);
  assert.match(source, /contract PoseidonT8 \{/);
  assert.match(source, /function hash\(uint256\[7\] calldata inputs\) external pure returns \(uint256/);
  assert.match(poseidonSolidity(16), /contract PoseidonT17 \{/);
});

// 2, 6, 7 and 8 inputs, plus the extremes: 1 (t = 2) and 16, whose large t takes the "shared" layout.
for (const n of [1, 2, 6, 7, 8, 16]) {
  test(`PoseidonT${n + 1} equals circomlibjs's buildPoseidon() for ${n} inputs`, async () => {
    const { contract, deployedSize } = await deploy(n);
    assert.ok(deployedSize < EIP170, `${deployedSize} bytes`);
    console.log(`PoseidonT${n + 1}: ${deployedSize} bytes deployed (${JSON.stringify(poseidonLayout(n))})`);
    for (const inputs of cases(n)) {
      const expected = poseidon.F.toObject(poseidon(inputs));
      assert.equal(await contract.hash(inputs), expected, inputs.join(","));
    }
  });
}

test("an input not below the field modulus reverts with InputNotInField(index)", async () => {
  const { contract } = await deploy(7);
  const inRange = Array.from({ length: 7 }, (_, i) => BigInt(i));
  for (const [index, value] of [
    [6, P],
    [0, P + 1n],
    [3, (1n << 256n) - 1n],
  ] as const) {
    const inputs = inRange.map((x, i) => (i === index ? value : x));
    await assert.rejects(contract.hash(inputs), (e: unknown) => {
      assert.ok(isError(e, "CALL_EXCEPTION"), String(e));
      assert.equal(e.revert?.name, "InputNotInField");
      assert.deepEqual([...(e.revert?.args ?? [])], [BigInt(index)]);
      return true;
    });
  }
  // P − 1 in the same lane is fine.
  assert.equal(
    await contract.hash(inRange.map((x, i) => (i === 6 ? P - 1n : x))),
    poseidon.F.toObject(poseidon([...inRange.slice(0, 6), P - 1n])),
  );
});

test("gas of PoseidonT8.hash", async () => {
  const { contract } = await deploy(7);
  const inputs = Array.from({ length: 7 }, (_, i) => P - 1n - BigInt(i));
  const gas = await contract.hash.estimateGas(inputs);
  console.log(
    `PoseidonT8.hash(7 inputs): ${gas} gas by estimateGas (a transaction's total: 21,000 intrinsic and calldata included)`,
  );
  assert.ok(gas > 21_000n && gas < 1_000_000n, `${gas} gas`);
});
