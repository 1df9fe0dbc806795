/**
 * The contracts a gateway uses on its chain, deployed once and recorded: the registry (with the
 * shipped circuits built in), a snarkjs verifier registered for every other circuit the gateway
 * proves, the Poseidon hashers the oracle needs for input commitments, the oracle with a fee per
 * model, and the two example consumers. The addresses go to `<data dir>/deployments/<chain id>.json`;
 * on a chain that keeps its state, the next start reuses them when they are still there.
 */
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Contract, ContractFactory, type InterfaceAbi } from "ethers";
import type { Logger } from "pino";
import type { CircuitManifest } from "../circuit/circuit-manifest.js";
import type { CompiledCatalog } from "../prover/compiled-catalog.js";
import type { ChainConnection } from "./chain-connection.js";
import { commitmentHashInputs, contract, type ContractsArtifact } from "./contract-build.js";
import { poseidonSolidity } from "./poseidon-contract.js";
import { modelInfo, modelKey } from "./registry-source.js";
import { compileSolidity, type CompiledContract } from "./solidity.js";

export interface Deployment {
  readonly chain_id: number;
  /** The first block that may hold events of these contracts. */
  readonly from_block: number;
  readonly registry: string;
  readonly oracle: string;
  readonly message_board: string | null;
  readonly completion_store: string | null;
  /** Poseidon hashers by number of inputs. */
  readonly hashers: Record<string, string>;
  /** Circuit model id → registry key (its verification key hash) and external verifier, if any. */
  readonly models: Record<string, { readonly key: string; readonly verifier: string | null }>;
}

export interface DeployOptions {
  readonly dataDir: string;
  readonly feeWei: bigint;
  readonly timeoutS: number;
  readonly logger: Logger;
}

export function deploymentFile(dataDir: string, chainId: number): string {
  return join(dataDir, "deployments", `${chainId}.json`);
}

/** The byte-pair merge table as BytePairDecoder.sol reads it: 2-byte big-endian ids, left then right. */
export function packMerges(merges: readonly (readonly [number, number])[]): string {
  return `0x${merges.map(([a, b]) => a.toString(16).padStart(4, "0") + b.toString(16).padStart(4, "0")).join("")}`;
}

async function deploy(chain: ChainConnection, compiled: CompiledContract, args: unknown[] = []): Promise<Contract> {
  const factory = new ContractFactory(compiled.abi as InterfaceAbi, compiled.bytecode, chain.signer);
  const deployed = await factory.deploy(...args);
  await deployed.waitForDeployment();
  return deployed as Contract;
}

async function send(call: Promise<{ wait(): Promise<unknown> }>): Promise<void> {
  await (await call).wait();
}

/** Whether a recorded deployment is still on the chain with every model registered. */
async function stillDeployed(chain: ChainConnection, artifact: ContractsArtifact, recorded: Deployment, manifests: readonly CircuitManifest[]): Promise<boolean> {
  if ((await chain.provider.getCode(recorded.registry)) === "0x" || (await chain.provider.getCode(recorded.oracle)) === "0x") return false;
  const registry = new Contract(recorded.registry, contract(artifact, "InferenceRegistry").abi as InterfaceAbi, chain.provider);
  for (const m of manifests) {
    const [, kind] = (await registry.models(modelKey(m))) as [string, bigint];
    if (kind === 0n) return false;
  }
  return true;
}

export async function deployContracts(chain: ChainConnection, artifact: ContractsArtifact, catalog: CompiledCatalog, options: DeployOptions): Promise<Deployment> {
  const { logger } = options;
  const manifests = catalog.modelIds.map((id) => catalog.manifest(id)!);
  const file = deploymentFile(options.dataDir, chain.chainId);
  if (existsSync(file)) {
    const recorded = JSON.parse(await readFile(file, "utf8")) as Deployment;
    if (await stillDeployed(chain, artifact, recorded, manifests)) {
      logger.info({ registry: recorded.registry, oracle: recorded.oracle }, "contracts already deployed on this chain");
      return recorded;
    }
  }
  const fromBlock = await chain.provider.getBlockNumber();
  const registry = await deploy(chain, contract(artifact, "ProofgateRegistry"));
  const registryAddress = await registry.getAddress();
  const models: Record<string, { key: string; verifier: string | null }> = {};
  for (const m of manifests) {
    const key = modelKey(m);
    const [, kind] = (await registry.models(key)) as [string, bigint];
    let verifier: string | null = null;
    if (kind === 0n) {
      // not built in: its snarkjs verifier, registered by this (owner) account
      const dir = catalog.dir(m.model_id)!;
      const source = await readFile(join(dir, m.files.verifier_sol), "utf8");
      const compiled = compileSolidity({ [`${m.model_id}/Verifier.sol`]: source })[`${m.model_id}/Verifier.sol:Groth16Verifier`];
      verifier = await (await deploy(chain, compiled)).getAddress();
      const info = modelInfo(m);
      await send(registry.registerModel(key, verifier, info.kind, info.signals, info.bits, info.context, m.model_id_field));
    }
    models[m.model_id] = { key, verifier };
  }
  const oracle = await deploy(chain, contract(artifact, "InferenceOracle"), [registryAddress, options.timeoutS]);
  const hashers: Record<string, string> = {};
  for (const m of manifests) {
    const inputs = commitmentHashInputs(m);
    if (inputs !== null && !hashers[inputs]) {
      const name = `PoseidonT${inputs + 1}`;
      const compiled = artifact.contracts[name] ?? compileSolidity({ [`${name}.sol`]: poseidonSolidity(inputs) })[name];
      hashers[inputs] = await (await deploy(chain, compiled)).getAddress();
      await send(oracle.setHasher(inputs, hashers[inputs]));
    }
    await send(oracle.setService(modelKey(m), true, options.feeWei));
  }
  const oracleAddress = await oracle.getAddress();
  const spam = manifests.find((m) => m.packing.kind === "classify" && m.packing.words === 5 && m.packing.inputBits === 1 && existsSync(join(catalog.dir(m.model_id)!, "featurizer.json")));
  const board =
    spam && hashers[7] ? await (await deploy(chain, contract(artifact, "MessageBoard"), [registryAddress, oracleAddress, modelKey(spam), hashers[7]])).getAddress() : null;
  const student = manifests.find((m) => m.kind === "token-step" && existsSync(join(catalog.dir(m.model_id)!, "tokenizer.json")));
  let store: string | null = null;
  if (student) {
    const tokenizer = JSON.parse(await readFile(join(catalog.dir(student.model_id)!, "tokenizer.json"), "utf8")) as { merges: [number, number][]; eot_id: number };
    store = await (await deploy(chain, contract(artifact, "CompletionStore"), [registryAddress, modelKey(student), packMerges(tokenizer.merges), tokenizer.eot_id])).getAddress();
  }
  const deployment: Deployment = { chain_id: chain.chainId, from_block: fromBlock, registry: registryAddress, oracle: oracleAddress, message_board: board, completion_store: store, hashers, models };
  await mkdir(join(options.dataDir, "deployments"), { recursive: true });
  await writeFile(file, `${JSON.stringify(deployment, null, 2)}\n`);
  logger.info({ registry: registryAddress, oracle: oracleAddress, message_board: board, completion_store: store }, "contracts deployed");
  return deployment;
}
