/**
 * The gateway as `proofgate serve` composes it, in-process, with its chain: proof services (SQLite in a
 * temporary data folder, an in-process queue), chain services (the embedded anvil, or $RPC_URL),
 * then the HTTP gateway with GET /v1/chain. Logs go to a captured pino stream, so tests can read them
 * (and check that no secret reaches them). Plus the ethers views of the deployed contracts.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Contract, type InterfaceAbi, type Provider, type Signer } from "ethers";
import OpenAI from "openai";
import { pino } from "pino";
import { toChainInfo } from "../../src/api/chain/protocol.js";
import { startGateway, type Gateway } from "../../src/api/start-gateway.js";
import { contract, type ContractsArtifact } from "../../src/chain/contract-build.js";
import type { Deployment } from "../../src/chain/deployment.js";
import { openChainServices, openProofServices, type ChainServices, type ProofServices } from "../../src/compose.js";
import { loadConfig, type Config } from "../../src/config/config.js";
import type { WireProof } from "../../src/core/proof-record.js";
import { MemoryJobQueue } from "../../src/jobs/job-queue-memory.js";
import { settledProof } from "../fixtures/until.js";

export { sleep, until } from "../fixtures/until.js";

export interface ChainGateway {
  readonly url: string;
  readonly config: Config;
  readonly gateway: Gateway;
  readonly proofs: ProofServices;
  readonly chain: ChainServices;
  readonly client: OpenAI;
  readonly dataDir: string;
  /** Every log line written so far (pino JSON, one per entry). */
  readonly logs: string[];
  close(): Promise<void>;
}

export interface StartChainGatewayOptions {
  /** Environment on top of the fixture's (PORT=0, PROOFGATE_SUBMIT=all, PROOFGATE_DEVICE=cpu, …). */
  readonly env?: Record<string, string>;
  /** @defaultValue a new temporary folder, removed on close */
  readonly dataDir?: string;
}

export async function startChainGateway(options: StartChainGatewayOptions = {}): Promise<ChainGateway> {
  const ownDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), "proofgate-chain-"));
  const config = loadConfig({
    PROOFGATE_DATA_DIR: dataDir,
    PORT: "0",
    PROOFGATE_SUBMIT: "all",
    PROOFGATE_DEVICE: "cpu",
    PROOFGATE_CHAIN_POLL_MS: "50",
    PROOFGATE_LOG_LEVEL: "info",
    PROVERS: "1",
    PROVER_CONCURRENCY: "2",
    ...options.env,
  });
  const logs: string[] = [];
  const logger = pino({ level: config.logLevel }, { write: (line: string) => void logs.push(line) });
  let proofs: ProofServices | undefined;
  let chain: ChainServices | null = null;
  try {
    const queue = new MemoryJobQueue({ attempts: config.jobAttempts, backoffMs: config.jobBackoffMs });
    proofs = await openProofServices({ config, logger, submitPolicy: config.submitPolicy, queue });
    chain = await openChainServices({ config, logger, proofs });
    if (!chain) throw new Error("PROOFGATE_SUBMIT=none: no chain");
    const policy = config.submitPolicy as "all" | "requested";
    const gateway = await startGateway({ config, logger, proofs, chain: toChainInfo(chain, policy) });
    await gateway.loaded;
    const openChain = chain;
    const openProofs = proofs;
    let closing: Promise<void> | undefined;
    const close = (): Promise<void> =>
      (closing ??= (async () => {
        await gateway.close();
        await openChain.close();
        await openProofs.close();
        if (ownDir) rmSync(dataDir, { recursive: true, force: true });
      })());
    return { url: gateway.url, config, gateway, proofs, chain, client: new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: "unused", maxRetries: 0 }), dataDir, logs, close };
  } catch (err) {
    await chain?.close();
    await proofs?.close();
    if (ownDir) rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
}

/** The deployed contracts, as ethers objects on `runner` (a provider to read, a signer to send). */
export interface ChainContracts {
  readonly registry: Contract;
  readonly oracle: Contract;
  readonly board: Contract;
  readonly store: Contract;
}

export function chainContracts(artifact: ContractsArtifact, deployment: Deployment, runner: Provider | Signer): ChainContracts {
  const at = (address: string | null, name: string): Contract => {
    if (!address) throw new Error(`${name} is not deployed`);
    return new Contract(address, contract(artifact, name).abi as InterfaceAbi, runner);
  };
  return {
    registry: at(deployment.registry, "InferenceRegistry"),
    oracle: at(deployment.oracle, "InferenceOracle"),
    board: at(deployment.message_board, "MessageBoard"),
    store: at(deployment.completion_store, "CompletionStore"),
  };
}


export async function getJson<T>(url: string, init?: RequestInit): Promise<{ status: number; body: T; text: string }> {
  const res = await fetch(url, init);
  const text = await res.text();
  return { status: res.status, body: JSON.parse(text) as T, text };
}

/** The record once it is final on a chain gateway: verified or failed. */
export const waitForProof = (url: string, id: string): Promise<WireProof> => settledProof(url, id, ["verified", "failed"]);

/** GET /v1/proofs/{id}, as it is now. */
export async function readProof(url: string, id: string): Promise<WireProof> {
  const { status, body, text } = await getJson<WireProof>(`${url}/v1/proofs/${id}`);
  if (status !== 200) throw new Error(`GET /v1/proofs/${id}: ${status} ${text}`);
  return body;
}

export async function postJson(url: string, body: unknown): Promise<{ status: number; body: unknown; text: string; headers: Headers }> {
  const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, body: JSON.parse(text) as unknown, text, headers: res.headers };
}

