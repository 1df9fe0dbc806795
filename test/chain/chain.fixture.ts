/**
 * A real anvil with every proofgate contract deployed as the gateway deploys them (deployContracts:
 * the built-in registry, the oracle with its Poseidon hasher and fees, both owned by the timelock,
 * MessageBoard, CompletionStore),
 * plus the proofs the chain tests submit, each made once per process and cached.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  Contract,
  ContractFactory,
  Interface,
  isError,
  JsonRpcProvider,
  NonceManager,
  Wallet,
  type InterfaceAbi,
  type Log,
  type LogDescription,
  type TransactionReceipt,
} from "ethers";
import { pino } from "pino";
import { ANVIL_DEV_KEY, startAnvil } from "../../src/chain/anvil.js";
import type { ChainConnection } from "../../src/chain/chain-connection.js";
import { contract, loadContracts, type ContractsArtifact } from "../../src/chain/contract-build.js";
import { deployContracts, type Deployment } from "../../src/chain/deployment.js";
import { proofWords } from "../../src/chain/proof-calldata.js";
import type { CircuitManifest } from "../../src/model/circuit-manifest.js";
import { randomSalt } from "../../src/core/request-binding.js";
import { BASE_FIELD_PRIME, FIELD_PRIME } from "../../src/snark/field.js";
import { releaseSnarkWorkers } from "../../src/snark/snark-workers.js";
import { spamFeatures } from "../../src/model/spam-features.js";
import { CompiledCatalog } from "../../src/prover/compiled-catalog.js";
import { loadCompiledModel, type CompiledModel } from "../../src/prover/compiled-model.js";
import { prove, type ProofFile } from "../../src/prover/prove.js";

export const SPAM_DIR = "artifacts/models/pg-spam";
export const STUDENT_DIR = "artifacts/models/pg-student";

/** anvil's second default account: a fulfiller, or an account that owns nothing. */
export const SECOND_KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";

/** anvil's third default account: a bot watching the mempool, an attacker. */
export const BOT_KEY = "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a";

/** BN254: the scalar field (public signals) and the base field (proof coordinates). */
export const R = FIELD_PRIME;
export const Q = BASE_FIELD_PRIME;

/** Texts the shipped pg-spam classifies as ham (label 0) and spam (label 1); checked by `classify` below. */
export const HAM_TEXT = "Thanks for the patch, I applied it to the CVS tree.";
export const HAM_TEXT_2 = "Hi Bob, are we still meeting for lunch tomorrow at noon? Cheers, Alice";
export const SPAM_TEXT = "FREE money!!! Click here to claim your prize now, limited time offer, buy viagra cheap";
export const HAM = 0;
export const SPAM = 1;

export interface TestChain {
  readonly chain: ChainConnection;
  /** Where deployContracts recorded the deployment (a second call there resumes it). */
  readonly dataDir: string;
  readonly artifact: ContractsArtifact;
  readonly deployment: Deployment;
  readonly spam: CircuitManifest;
  readonly student: CircuitManifest;
  readonly spamKey: string;
  readonly studentKey: string;
  /** Signed by the deployer (anvil's account #0: the timelock's proposer; the timelock owns both). */
  readonly registry: Contract;
  readonly oracle: Contract;
  readonly timelock: Contract;
  readonly board: Contract;
  readonly store: Contract;
  /** anvil's account #1, with its own nonce manager. */
  readonly second: NonceManager;
  readonly secondAddress: string;
  /** Every error of every project contract: a revert bubbled up from another contract still reads by name. */
  readonly errors: readonly Record<string, unknown>[];
  /** A contract of the artifact at `address`, with every project error in its ABI. */
  at(name: string, address: string, runner?: NonceManager): Contract;
  /**
   * Runs `target.method(args)` as its owner, the timelock: scheduled, the delay passed on anvil's
   * clock (evm_increaseTime), executed; a fresh salt unless given (a call id is used once). Returns both receipts.
   */
  governed(
    target: Contract,
    method: string,
    args: readonly unknown[],
    salt?: string,
  ): Promise<{ scheduled: TransactionReceipt; executed: TransactionReceipt }>;
  /** Deploys a contract (its ABI gets every project error too). */
  deploy(abi: readonly Record<string, unknown>[], bytecode: string, args?: unknown[]): Promise<Contract>;
  close(): Promise<void>;
}

function withErrors(abi: readonly Record<string, unknown>[], errors: readonly Record<string, unknown>[]): InterfaceAbi {
  const names = new Set(abi.filter((f) => f.type === "error").map((f) => f.name));
  return [...abi, ...errors.filter((e) => !names.has(e.name))] as InterfaceAbi;
}

export interface TestChainOptions {
  readonly feeWei: bigint;
  /** @defaultValue 0: a flat fee */
  readonly perGasWei?: bigint;
  readonly timeoutS: number;
  /** @defaultValue 2 days, the gateway's default */
  readonly timelockDelayS?: number;
}

export const TIMELOCK_DELAY_S = 2 * 24 * 3600;

export async function openTestChain(options: TestChainOptions): Promise<TestChain> {
  const dataDir = mkdtempSync(join(tmpdir(), "proofgate-chaintest-"));
  const anvil = await startAnvil();
  // cacheTimeout -1: ethers otherwise answers an identical request made within 250 ms from its cache,
  // so the estimate of a transaction sent twice in a row would not see the first one's effect
  const provider = new JsonRpcProvider(anvil.url, anvil.chainId, { staticNetwork: true, cacheTimeout: -1 });
  try {
    const signer = new NonceManager(new Wallet(ANVIL_DEV_KEY).connect(provider));
    const chain: ChainConnection = {
      provider,
      signer,
      address: await signer.getAddress(),
      chainId: anvil.chainId,
      anvil,
      async close() {
        provider.destroy();
        await anvil.stop();
      },
    };
    const artifact = await loadContracts();
    const catalog = await CompiledCatalog.open({ roots: ["artifacts/models"], dirs: [] });
    const deployment = await deployContracts(chain, artifact, catalog, {
      dataDir,
      fee: { baseWei: options.feeWei, perGasWei: options.perGasWei ?? 0n },
      timeoutS: options.timeoutS,
      timelockDelayS: options.timelockDelayS ?? TIMELOCK_DELAY_S,
      logger: pino({ level: "silent" }),
    });
    const manifests = catalog.modelIds.map((id) => catalog.manifest(id)!);
    const spam = manifests.find((m) => m.kind === "classify")!;
    const student = manifests.find((m) => m.kind === "token-step")!;
    assert.ok(spam && student, "pg-spam and pg-student are in artifacts/models");
    assert.ok(deployment.message_board && deployment.completion_store, "both example consumers deployed");
    // by name: the errors two contracts share (NotOwner, UnknownModel) have the same arguments
    const errors = [
      ...new Map(
        Object.values(artifact.contracts).flatMap((c) =>
          c.abi.filter((f) => f.type === "error").map((e) => [String(e.name), e] as const),
        ),
      ).values(),
    ];
    const second = new NonceManager(new Wallet(SECOND_KEY).connect(provider));
    errorInterface = new Interface(errors as InterfaceAbi);
    managers.push(signer, second);
    const at = (name: string, address: string, runner: NonceManager = signer) =>
      new Contract(address, withErrors(contract(artifact, name).abi, errors), runner);
    const timelock = at("Timelock", deployment.timelock.address);
    return {
      chain,
      dataDir,
      artifact,
      deployment,
      spam,
      student,
      spamKey: deployment.models[spam.model_id].key,
      studentKey: deployment.models[student.model_id].key,
      registry: at("InferenceRegistry", deployment.registry),
      oracle: at("InferenceOracle", deployment.oracle),
      timelock,
      async governed(target, method, args, salt = randomSalt()) {
        const data = target.interface.encodeFunctionData(method, args);
        const scheduled = await mined(timelock.schedule(target.target, 0, data, salt));
        await provider.send("evm_increaseTime", [deployment.timelock.min_delay_s]);
        await provider.send("evm_mine", []);
        const executed = await mined(timelock.execute(target.target, 0, data, salt));
        return { scheduled, executed };
      },
      board: at("MessageBoard", deployment.message_board),
      store: at("CompletionStore", deployment.completion_store),
      second,
      secondAddress: await second.getAddress(),
      errors,
      at,
      async deploy(abi, bytecode, args = []) {
        const deployed = await new ContractFactory(withErrors(abi, errors), bytecode, signer).deploy(...args);
        await deployed.waitForDeployment();
        return deployed as unknown as Contract;
      },
      async close() {
        await chain.close();
        await releaseSnarkWorkers(); // snarkjs's curve keeps worker threads, and the process, alive
        rmSync(dataDir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    provider.destroy();
    await anvil.stop();
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
}

// ---- transactions, events, reverts

export async function mined(tx: Promise<{ wait(): Promise<TransactionReceipt | null> }>): Promise<TransactionReceipt> {
  const receipt = await (await tx).wait();
  assert.ok(receipt && receipt.status === 1, "transaction mined");
  return receipt;
}

/** The receipt's events emitted by `from`, decoded by its ABI. */
export function eventsOf(receipt: TransactionReceipt, from: Contract, name?: string): LogDescription[] {
  const address = String(from.target).toLowerCase();
  return receipt.logs
    .filter((log: Log) => log.address.toLowerCase() === address)
    .map((log) => from.interface.parseLog(log))
    .filter((e): e is LogDescription => e !== null && (name === undefined || e.name === name));
}

export function eventOf(receipt: TransactionReceipt, from: Contract, name: string): LogDescription {
  const events = eventsOf(receipt, from, name);
  assert.equal(events.length, 1, `one ${name} event`);
  return events[0];
}

/** Every project error, to read reverts ethers leaves undecoded (a transaction's failed estimate). */
let errorInterface = new Interface([]);
/** The nonce managers of open test chains: a send that failed at its estimate still took a nonce. */
const managers: NonceManager[] = [];

/** Another account's nonce manager, reset after each expected revert like the fixture's own. */
export function trackNonces(manager: NonceManager): NonceManager {
  managers.push(manager);
  return manager;
}

/** The custom error a call or transaction reverted with, decoded by name; null when there is none. */
export function revertOf(err: unknown): { name: string; args: unknown[] } | null {
  if (!isError(err, "CALL_EXCEPTION")) return null;
  if (err.revert) return { name: err.revert.name, args: [...err.revert.args] };
  const parsed = err.data ? errorInterface.parseError(err.data) : null;
  return parsed ? { name: parsed.name, args: [...parsed.args] } : null;
}

/**
 * Awaits a call or transaction that must revert with the custom error `name` (and these arguments, if
 * given). ethers' NonceManager counts a nonce for a transaction even when its gas estimate reverts and
 * nothing is sent, which would leave every later transaction waiting on the gap: it is reset here.
 */
export async function revertsWith(call: Promise<unknown>, name: string, args?: readonly unknown[]): Promise<void> {
  await assert.rejects(call, (err: unknown) => {
    assert.ok(isError(err, "CALL_EXCEPTION"), String(err));
    const revert = revertOf(err);
    assert.equal(revert?.name, name, `reverted with ${revert?.name ?? err.shortMessage}, not ${name}`);
    if (args) assert.deepEqual(revert?.args, [...args]);
    return true;
  });
  for (const m of managers) m.reset();
}

/**
 * Awaits a timelock `execute` (or `governed`) that must fail with CallFailed around the custom error
 * `inner` (and these arguments, if given), or around a revert without data when `inner` is null.
 */
export async function revertsInside(
  call: Promise<unknown>,
  inner: string | null,
  args?: readonly unknown[],
): Promise<void> {
  await assert.rejects(call, (err: unknown) => {
    const revert = revertOf(err);
    assert.equal(revert?.name, "CallFailed", `reverted with ${revert?.name}, not CallFailed`);
    const data = revert!.args[1] as string;
    if (inner === null) {
      assert.equal(data, "0x");
      return true;
    }
    const parsed = errorInterface.parseError(data);
    assert.equal(parsed?.name, inner);
    if (args) assert.deepEqual([...parsed!.args], [...args]);
    return true;
  });
  for (const m of managers) m.reset();
}

// ---- proofs, each made once per process

const models = new Map<string, Promise<CompiledModel>>();
const proofs = new Map<string, Promise<ProofFile>>();

export function compiledModel(dir: string): Promise<CompiledModel> {
  let model = models.get(dir);
  if (!model) {
    model = loadCompiledModel(dir);
    models.set(dir, model);
  }
  return model;
}

/** A proof of (sample, nonce); `copy` makes another, independently randomized proof of the same. */
export function proofOf(dir: string, sample: readonly number[], nonce: bigint, copy = 0): Promise<ProofFile> {
  const key = `${dir}|${nonce}|${copy}|${sample.join(",")}`;
  let proof = proofs.get(key);
  if (!proof) {
    proof = compiledModel(dir).then((model) => prove(model, { sample, nonce }));
    proofs.set(key, proof);
  }
  return proof;
}

export interface Calldata {
  readonly proof: bigint[];
  readonly signals: bigint[];
}

export function calldata(file: ProofFile): Calldata {
  return { proof: proofWords(file.proof), signals: file.public_signals.map(BigInt) };
}

export function spamSample(text: string): number[] {
  return Array.from(spamFeatures(text));
}

/** A pg-spam proof about `text` under `nonce`. */
export async function spamProof(text: string, nonce: bigint, copy = 0): Promise<ProofFile> {
  return proofOf(SPAM_DIR, spamSample(text), nonce, copy);
}

/**
 * `steps` consecutive decoding steps of pg-student from `window` (16 token ids), all under one nonce:
 * each next window is the last shifted by one with the proven token appended.
 */
export async function studentSteps(window: readonly number[], nonce: bigint, steps: number): Promise<ProofFile[]> {
  const out: ProofFile[] = [];
  let current = [...window];
  for (let k = 0; k < steps; k++) {
    const proof = await proofOf(STUDENT_DIR, current, nonce);
    out.push(proof);
    current = [...current.slice(1), proof.output as number];
  }
  return out;
}
