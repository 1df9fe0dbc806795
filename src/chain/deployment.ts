/**
 * The contracts a gateway uses on its chain, deployed once and recorded: the registry (with the
 * shipped circuits built in), a snarkjs verifier registered for every other circuit the gateway
 * proves, the Poseidon hashers the oracle needs for input commitments (fixed in its constructor), the
 * oracle with a fee per model, the timelock that then owns both (so every later rule change is
 * announced a delay ahead), and the two example consumers. The addresses go to
 * `<data dir>/deployments/<chain id>.json`; on a chain that keeps its state, the next start reuses
 * them when they are still there.
 */
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { ContractFactory, type ContractRunner, type InterfaceAbi } from "ethers";
import type { Logger } from "pino";
import { z } from "zod";
import { isProofgateError } from "../core/errors.js";
import { readArtifact } from "../core/read-artifact.js";
import type { CircuitManifest } from "../model/circuit-manifest.js";
import { randomSalt } from "../core/request-binding.js";
import { TokenizerJSON } from "../model/tokenizer.js";
import type { CompiledCatalog } from "../prover/compiled-catalog.js";
import { InferenceRegistryKind } from "./bindings/enums.js";
import { InferenceOracle__factory, InferenceRegistry__factory, Timelock__factory } from "./bindings/index.js";
import type { ChainConnection } from "./chain-connection.js";
import { commitmentHashInputs, contract, type ContractsArtifact } from "./contract-build.js";
import { poseidonSolidity } from "./poseidon-contract.js";
import { modelInfo, modelKey } from "./registry-source.js";
import { compileSolidity, type CompiledContract } from "./solidity.js";

/** The oracle's price of a request: `baseWei + callback gas limit × perGasWei` (InferenceOracle.fee). */
export interface OracleFee {
  readonly baseWei: bigint;
  readonly perGasWei: bigint;
}

const address = z.string().regex(/^0x[0-9a-fA-F]{40}$/);
const hex32 = z.string().regex(/^0x[0-9a-fA-F]{64}$/);
/** A call the timelock was asked to run, as `Timelock.schedule` took it. */
const ScheduledCall = z.object({ target: address, data: z.string().regex(/^0x[0-9a-fA-F]*$/), salt: hex32 });
export type ScheduledCall = z.infer<typeof ScheduledCall>;

export const Deployment = z.object({
  chain_id: z.int(),
  /** The first block that may hold events of these contracts. */
  from_block: z.int().nonnegative(),
  registry: address,
  oracle: address,
  /** The owner of the registry and the oracle: changes of their rules wait `min_delay_s` in public. */
  timelock: z.object({ address, min_delay_s: z.int().nonnegative(), proposer: address }),
  message_board: address.nullable(),
  completion_store: address.nullable(),
  /** Poseidon hashers by number of inputs (fixed in the oracle at deployment). */
  hashers: z.record(z.string(), address),
  /** Circuit model id → registry key (its verification key hash) and external verifier, if any. */
  models: z.record(z.string(), z.object({ key: hex32, verifier: address.nullable() })),
  /** Models added after deployment, waiting on the timelock: their calls, executable from `ready_at` (unix s). */
  scheduled: z
    .record(z.string(), z.object({ key: hex32, verifier: address, calls: z.array(ScheduledCall), ready_at: z.int() }))
    .default({}),
});
export type Deployment = z.infer<typeof Deployment>;

export interface DeployOptions {
  readonly dataDir: string;
  readonly fee: OracleFee;
  readonly timeoutS: number;
  /** The timelock's delay, fixed at deployment. */
  readonly timelockDelayS: number;
  readonly logger: Logger;
}

export function deploymentFile(dataDir: string, chainId: number): string {
  return join(dataDir, "deployments", `${chainId}.json`);
}

/** The byte-pair merge table as BytePairDecoder.sol reads it: 2-byte big-endian ids, left then right. */
export function packMerges(merges: readonly (readonly [number, number])[]): string {
  return `0x${merges.map(([a, b]) => a.toString(16).padStart(4, "0") + b.toString(16).padStart(4, "0")).join("")}`;
}

/** Deploys `compiled` (bytecode from the artifact) and returns it through its binding's `connect`, on the signer. */
async function deploy<T>(
  chain: ChainConnection,
  compiled: CompiledContract,
  connect: (address: string, runner: ContractRunner) => T,
  args: unknown[] = [],
): Promise<T> {
  const factory = new ContractFactory(compiled.abi as InterfaceAbi, compiled.bytecode, chain.signer);
  const deployed = await factory.deploy(...args);
  await deployed.waitForDeployment();
  return connect(await deployed.getAddress(), chain.signer);
}

/** A contract the gateway only names (a verifier, a hasher, an example consumer): its address. */
const addressOnly = (address: string): string => address;

async function send(call: Promise<{ wait(): Promise<unknown> }>): Promise<void> {
  await (await call).wait();
}

/** The snarkjs verifier of a circuit the registry does not have built in, deployed. */
async function deployVerifier(chain: ChainConnection, catalog: CompiledCatalog, m: CircuitManifest): Promise<string> {
  const source = await readFile(join(catalog.dir(m.model_id)!, m.files.verifier_sol), "utf8");
  const compiled = compileSolidity({ [`${m.model_id}/Verifier.sol`]: source })[
    `${m.model_id}/Verifier.sol:Groth16Verifier`
  ];
  return deploy(chain, compiled, addressOnly);
}

/** What the owner calls to add a model: register its verifier, then serve it through the oracle at the fee. */
function registrationCalls(
  d: Pick<Deployment, "registry" | "oracle">,
  m: CircuitManifest,
  verifier: string,
  fee: OracleFee,
): ScheduledCall[] {
  const registry = InferenceRegistry__factory.createInterface();
  const oracle = InferenceOracle__factory.createInterface();
  const info = modelInfo(m);
  return [
    {
      target: d.registry,
      data: registry.encodeFunctionData("registerModel", [
        modelKey(m),
        verifier,
        info.kind,
        info.signals,
        info.bits,
        info.context,
        m.model_id_field,
      ]),
      salt: randomSalt(),
    },
    {
      target: d.oracle,
      data: oracle.encodeFunctionData("setService", [modelKey(m), true, fee.baseWei, fee.perGasWei]),
      salt: randomSalt(),
    },
  ];
}

async function readDeployment(file: string, logger: Logger): Promise<Deployment | null> {
  if (!existsSync(file)) return null;
  try {
    return await readArtifact(file, Deployment);
  } catch (err) {
    if (!isProofgateError(err, "invalid_argument")) throw err;
    logger.warn({ file, issue: err.message }, "the recorded deployment is of another format; deploying anew");
    return null;
  }
}

async function writeDeployment(file: string, deployment: Deployment): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, `${JSON.stringify(deployment, null, 2)}\n`);
}

/**
 * A recorded deployment still on the chain, brought up to the catalog: a model the registry does not
 * know needs its owner, the timelock. Its registration is scheduled at one start and executed at the
 * first start after its delay; until then the model is left out of `models` (not submitted, not served
 * by the oracle) and the log says when it will be. Null when the contracts are gone.
 */
async function resume(
  chain: ChainConnection,
  catalog: CompiledCatalog,
  recorded: Deployment,
  options: DeployOptions,
): Promise<Deployment | null> {
  const { logger } = options;
  for (const at of [recorded.registry, recorded.oracle, recorded.timelock.address])
    if ((await chain.provider.getCode(at)) === "0x") return null;
  const registry = InferenceRegistry__factory.connect(recorded.registry, chain.provider);
  const timelock = Timelock__factory.connect(recorded.timelock.address, chain.signer);
  const models = { ...recorded.models };
  const scheduled = { ...recorded.scheduled };
  const now = (await chain.provider.getBlock("latest"))!.timestamp;
  for (const m of catalog.modelIds.map((id) => catalog.manifest(id)!)) {
    const { verifier, kind } = await registry.models(modelKey(m));
    if (kind !== InferenceRegistryKind.Unknown) {
      // a built-in key names the registry itself as its verifier
      models[m.model_id] = {
        key: modelKey(m),
        verifier: verifier.toLowerCase() === recorded.registry.toLowerCase() ? null : verifier,
      };
      continue;
    }
    delete models[m.model_id];
    let pending = scheduled[m.model_id];
    if (!pending) {
      if (recorded.timelock.proposer.toLowerCase() !== chain.address.toLowerCase()) {
        logger.warn(
          { model: m.model_id, timelock: recorded.timelock.address },
          "model not registered on chain and this key is not the timelock's proposer: it needs a timelocked registration; skipped",
        );
        continue;
      }
      const verifier = await deployVerifier(chain, catalog, m);
      const calls = registrationCalls(recorded, m, verifier, options.fee);
      let readyAt = 0;
      for (const call of calls) {
        await send(timelock.schedule(call.target, 0, call.data, call.salt));
        readyAt = Math.max(
          readyAt,
          Number(await timelock.readyAt(await timelock.hashCall(call.target, 0, call.data, call.salt))),
        );
      }
      pending = scheduled[m.model_id] = { key: modelKey(m), verifier, calls, ready_at: readyAt };
    }
    if (pending.ready_at > now) {
      logger.warn(
        {
          model: m.model_id,
          timelock: recorded.timelock.address,
          ready_at: new Date(pending.ready_at * 1000).toISOString(),
        },
        "model not registered on chain: its registration waits on the timelock; restart after ready_at to execute it (skipped until then)",
      );
      continue;
    }
    delete scheduled[m.model_id];
    try {
      for (const call of pending.calls) await send(timelock.execute(call.target, 0, call.data, call.salt));
    } catch (err) {
      // cancelled, say: the next start schedules it again
      logger.warn(
        { model: m.model_id, err: (err as Error).message },
        "the timelocked registration of this model could not be executed; skipped",
      );
      chain.signer.reset();
      continue;
    }
    models[m.model_id] = { key: pending.key, verifier: pending.verifier };
    logger.info({ model: m.model_id, verifier: pending.verifier }, "timelocked model registration executed");
  }
  return { ...recorded, models, scheduled };
}

export async function deployContracts(
  chain: ChainConnection,
  artifact: ContractsArtifact,
  catalog: CompiledCatalog,
  options: DeployOptions,
): Promise<Deployment> {
  const { logger } = options;
  const manifests = catalog.modelIds.map((id) => catalog.manifest(id)!);
  const file = deploymentFile(options.dataDir, chain.chainId);
  const recorded = await readDeployment(file, logger);
  const resumed = recorded && (await resume(chain, catalog, recorded, options));
  if (resumed) {
    await writeDeployment(file, resumed);
    logger.info(
      { registry: resumed.registry, oracle: resumed.oracle, timelock: resumed.timelock.address },
      "contracts already deployed on this chain",
    );
    return resumed;
  }
  const fromBlock = await chain.provider.getBlockNumber();
  // the deployer owns the registry and the oracle while it sets them up, then hands both to the timelock
  // the built-in registry is the InferenceRegistry with keys inside: called through its binding
  const registry = await deploy(chain, contract(artifact, "ProofgateRegistry"), InferenceRegistry__factory.connect);
  const registryAddress = await registry.getAddress();
  const models: Record<string, { key: string; verifier: string | null }> = {};
  for (const m of manifests) {
    const key = modelKey(m);
    const { kind } = await registry.models(key);
    let verifier: string | null = null;
    if (kind === InferenceRegistryKind.Unknown) {
      verifier = await deployVerifier(chain, catalog, m);
      const info = modelInfo(m);
      await send(
        registry.registerModel(key, verifier, info.kind, info.signals, info.bits, info.context, m.model_id_field),
      );
    }
    models[m.model_id] = { key, verifier };
  }
  const hashers: Record<string, string> = {};
  for (const m of manifests) {
    const inputs = commitmentHashInputs(m);
    if (inputs !== null && !hashers[inputs]) {
      const name = `PoseidonT${inputs + 1}`;
      const compiled = artifact.contracts[name] ?? compileSolidity({ [`${name}.sol`]: poseidonSolidity(inputs) })[name];
      hashers[inputs] = await deploy(chain, compiled, addressOnly);
    }
  }
  const arities = Object.keys(hashers).map(Number);
  const oracle = await deploy(chain, contract(artifact, "InferenceOracle"), InferenceOracle__factory.connect, [
    registryAddress,
    options.timeoutS,
    arities,
    arities.map((n) => hashers[n]),
  ]);
  for (const m of manifests)
    await send(oracle.setService(modelKey(m), true, options.fee.baseWei, options.fee.perGasWei));
  const oracleAddress = await oracle.getAddress();
  const timelock = await deploy(chain, contract(artifact, "Timelock"), Timelock__factory.connect, [
    options.timelockDelayS,
    chain.address,
  ]);
  const timelockAddress = await timelock.getAddress();
  for (const owned of [registry, oracle]) {
    await send(owned.transferOwnership(timelockAddress));
    await send(timelock.acceptOwnership(await owned.getAddress()));
  }
  const spam = manifests.find(
    (m) =>
      m.packing.kind === "classify" &&
      m.packing.words === 5 &&
      m.packing.inputBits === 1 &&
      existsSync(join(catalog.dir(m.model_id)!, "featurizer.json")),
  );
  const board =
    spam && hashers[7]
      ? await deploy(chain, contract(artifact, "MessageBoard"), addressOnly, [
          registryAddress,
          oracleAddress,
          modelKey(spam),
          hashers[7],
        ])
      : null;
  const student = manifests.find(
    (m) => m.kind === "token-step" && existsSync(join(catalog.dir(m.model_id)!, "tokenizer.json")),
  );
  let store: string | null = null;
  if (student) {
    const tokenizer = await readArtifact(join(catalog.dir(student.model_id)!, "tokenizer.json"), TokenizerJSON);
    store = await deploy(chain, contract(artifact, "CompletionStore"), addressOnly, [
      registryAddress,
      modelKey(student),
      packMerges(tokenizer.merges),
      tokenizer.eot_id,
    ]);
  }
  const deployment: Deployment = {
    chain_id: chain.chainId,
    from_block: fromBlock,
    registry: registryAddress,
    oracle: oracleAddress,
    timelock: { address: timelockAddress, min_delay_s: options.timelockDelayS, proposer: chain.address },
    message_board: board,
    completion_store: store,
    hashers,
    models,
    scheduled: {},
  };
  await writeDeployment(file, deployment);
  logger.info(
    {
      registry: registryAddress,
      oracle: oracleAddress,
      timelock: timelockAddress,
      message_board: board,
      completion_store: store,
    },
    "contracts deployed",
  );
  return deployment;
}
