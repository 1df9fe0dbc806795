/**
 * The gateway as `proofgate serve` composes it, in-process, with its chain: proof services (SQLite in a
 * temporary data folder, an in-process queue), chain services (the embedded anvil, or $RPC_URL),
 * then the HTTP gateway with GET /v1/chain. Logs go to a captured pino stream, so tests can read them
 * (and check that no secret reaches them). Plus the ethers views of the deployed contracts.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Provider, Signer } from "ethers";
import OpenAI from "openai";
import { pino } from "pino";
import { toChainInfo } from "../../src/api/chain/protocol.js";
import { startGateway, type Gateway } from "../../src/api/start-gateway.js";
import {
  CompletionStore__factory,
  InferenceOracle__factory,
  InferenceRegistry__factory,
  MessageBoard__factory,
  type CompletionStore,
  type InferenceOracle,
  type InferenceRegistry,
  type MessageBoard,
} from "../../src/chain/bindings/index.js";
import type { Deployment } from "../../src/chain/deployment.js";
import type { ChainServices, ProofServices } from "../../src/api/gateway-services.js";
import { openChainServices, openProofServices } from "../../src/compose.js";
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
    return {
      url: gateway.url,
      config,
      gateway,
      proofs,
      chain,
      client: new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: "unused", maxRetries: 0 }),
      dataDir,
      logs,
      close,
    };
  } catch (err) {
    await chain?.close();
    await proofs?.close();
    if (ownDir) rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
}

/** The deployed contracts, through their typed bindings on `runner` (a provider to read, a signer to send). */
export interface ChainContracts {
  readonly registry: InferenceRegistry;
  readonly oracle: InferenceOracle;
  readonly board: MessageBoard;
  readonly store: CompletionStore;
}

export function chainContracts(deployment: Deployment, runner: Provider | Signer): ChainContracts {
  const deployed = (address: string | null, name: string): string => {
    if (!address) throw new Error(`${name} is not deployed`);
    return address;
  };
  return {
    registry: InferenceRegistry__factory.connect(deployment.registry, runner),
    oracle: InferenceOracle__factory.connect(deployment.oracle, runner),
    board: MessageBoard__factory.connect(deployed(deployment.message_board, "MessageBoard"), runner),
    store: CompletionStore__factory.connect(deployed(deployment.completion_store, "CompletionStore"), runner),
  };
}

export async function getJson<T>(url: string, init?: RequestInit): Promise<{ status: number; body: T; text: string }> {
  const res = await fetch(url, init);
  const text = await res.text();
  return { status: res.status, body: JSON.parse(text) as T, text };
}

/** The record once it is final on a chain gateway: verified or failed. */
export const waitForProof = (url: string, id: string): Promise<WireProof> =>
  settledProof(url, id, ["verified", "failed"]);

/** GET /v1/proofs/{id}, as it is now. */
export async function readProof(url: string, id: string): Promise<WireProof> {
  const { status, body, text } = await getJson<WireProof>(`${url}/v1/proofs/${id}`);
  if (status !== 200) throw new Error(`GET /v1/proofs/${id}: ${status} ${text}`);
  return body;
}

export async function postJson(
  url: string,
  body: unknown,
): Promise<{ status: number; body: unknown; text: string; headers: Headers }> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: JSON.parse(text) as unknown, text, headers: res.headers };
}
