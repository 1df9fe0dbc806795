/**
 * Environment → one frozen, typed Config for the gateway. Every default lives here; nothing else reads
 * process.env. Bad values fail at startup with a message naming the variable.
 */
import { createHash } from "node:crypto";
import { join, resolve } from "node:path";
import { Secret } from "../core/secret.js";
import { keySha256, loadApiKeysFile, type NamedApiKey } from "./api-keys-file.js";

export type DeviceChoice = "auto" | "cpu" | "cuda";

/** The order proof jobs run in: `fair` interleaves requests (see stepPriority), `fifo` is arrival order. */
export type ProofOrder = "fair" | "fifo";

/** Which proved records go on-chain: every one, none (no chain at all), or those a request asked for. */
export type SubmitPolicy = "all" | "none" | "requested";

/** Who signs transactions on $RPC_URL. The embedded chain uses anvil's first dev account. */
export type ChainSigner =
  | { readonly kind: "key"; readonly privateKey: Secret }
  | { readonly kind: "keystore"; readonly path: string; readonly password: Secret };

export interface Config {
  /** $PORT, default 8080. */
  readonly port: number;
  /** $HOST, default 127.0.0.1. */
  readonly host: string;
  /** artifacts/models (every subfolder is a model) plus the folders in $PROOFGATE_MODELS. */
  readonly modelRoots: readonly string[];
  /** $PROOFGATE_MODELS, comma-separated model folders. */
  readonly modelDirs: readonly string[];
  /** $PROOFGATE_DEVICE, default auto: CUDA when its execution provider loads, else CPU. */
  readonly device: DeviceChoice;
  /** $PROOFGATE_API_KEYS, comma-separated; empty = no authentication. */
  readonly apiKeys: readonly string[];
  /** $PROOFGATE_API_KEYS_FILE: named keys with limits of their own (see api-keys-file.ts); beside $PROOFGATE_API_KEYS, which keep the server's. */
  readonly namedApiKeys: readonly NamedApiKey[];
  /**
   * $PROOFGATE_MAX_BATCH: concurrent sequences decoded per model in one batched step; default null =
   * by device, 64 on CPU and 256 on CUDA (see DEFAULT_MAX_BATCH in src/model/model-registry.ts).
   */
  readonly maxBatchSize: number | null;
  /** $PROOFGATE_MAX_WAITING, default 256: sequences waiting for a batch slot before requests get 429. */
  readonly maxWaiting: number;
  /** $PROOFGATE_MAX_SEQUENCES_PER_CLIENT, default 32: sequences one API key (or client address) may generate at once. */
  readonly maxSequencesPerClient: number;
  /** $PROOFGATE_RATE_LIMIT_RPM, default 0 = off: requests per minute per API key (or client address). */
  readonly rateLimitPerMinute: number;
  /** $PROOFGATE_MAX_PROOF_BACKLOG, default 5000, 0 = off: proof jobs pending on the queue past which new provable requests get 429. */
  readonly maxProofBacklog: number;
  /** $PROOFGATE_MAX_PROOF_ETA_S, default 0 = off: estimated seconds to prove the backlog past which new provable requests get 429. */
  readonly maxProofEtaS: number;
  /** $PROOFGATE_BODY_LIMIT_BYTES, default 1 MiB. */
  readonly bodyLimitBytes: number;
  /** $PROOFGATE_MAX_PROMPT_CHARS, default 65536: characters of prompt text (all messages, all prompts) one request may send. */
  readonly maxPromptChars: number;
  /** $PROOFGATE_DEFAULT_MAX_TOKENS, default 256: used when a request sets no max_tokens. */
  readonly defaultMaxTokens: number;
  /** $PROOFGATE_MAX_TOKENS_LIMIT, default 4096: the largest max_tokens a request may ask for. */
  readonly maxTokensLimit: number;
  /** $PROOFGATE_PROVEN_DEFAULT_MAX_TOKENS, default 32: max_tokens of a proven answer that sets none (each token is a step proof). */
  readonly provenDefaultMaxTokens: number;
  /** $PROOFGATE_MAX_PROOF_STEPS, default 256: step proofs one request may cost (choices × max_tokens); over it → 400. */
  readonly maxProofSteps: number;
  /** $PROOFGATE_MAX_RESPONSE_TOKENS, default 131072: choices × max_tokens × (1 + top logprobs) one answer may carry. */
  readonly maxResponseTokens: number;
  /** $PROOFGATE_PROOF_ORDER, default fair: fair interleaves the proof jobs of different requests; fifo runs them in arrival order. */
  readonly proofOrder: ProofOrder;
  /** $PROOFGATE_LOG_LEVEL, default info (pino levels; "silent" turns logs off). */
  readonly logLevel: string;
  /** $PROOFGATE_LOG_FORMAT, default auto: readable lines on a terminal, JSON lines otherwise (json|pretty force one). */
  readonly logFormat: "auto" | "json" | "pretty";
  /** $PROOFGATE_DATA_DIR, default ./data: where the embedded SQLite store lives. */
  readonly dataDir: string;
  /** $DATABASE_URL: a PostgreSQL store instead of SQLite (required by workers on other machines). */
  readonly databaseUrl: string | null;
  /** $PROOFGATE_DB_SCHEMA: the PostgreSQL schema of the tables, default the server's search_path. */
  readonly databaseSchema: string | null;
  /** $REDIS_URL, default redis://127.0.0.1:6379; when no Redis answers, serve uses an in-process queue. */
  readonly redisUrl: string;
  /** $PROOFGATE_QUEUE_PREFIX: the Redis key prefix; default derived from the store (defaultQueuePrefix), one per deployment. */
  readonly queuePrefix: string;
  /** $PROVERS, default 1: in-process prover workers in `serve` (0 = none). */
  readonly provers: number;
  /** $PROVER_CONCURRENCY, default 2: jobs one worker proves at once. */
  readonly proverConcurrency: number;
  /** $PROVER_THREADS: proving threads of a process (src/prover/snark-work.ts); default null = one per job it proves at once (one proof ≈ one core). */
  readonly proverThreads: number | null;
  /**
   * $PROOFGATE_SNARK_THREADS=on: prove and verify in worker threads (src/prover/snark-work.ts), off the
   * event loop that serves the API. Default off: with onnxruntime-node in the same process, a native
   * crash at exit (double free) was seen in about 1 of 3 test runs, and its cause is not found yet.
   */
  readonly snarkThreads: boolean;
  /** $PROOFGATE_PROOF_LEASE_MS, default DEFAULT_PROOF_LEASE_MS: how long a silent worker keeps a job (queue lock and record lease). */
  readonly proofLeaseMs: number;
  /** $PROOFGATE_SWEEP_INTERVAL_MS, default 30000: how often pending records are re-enqueued from the store. */
  readonly sweepIntervalMs: number;
  /** $PROOFGATE_JOB_ATTEMPTS, default 3: runs of a proof job before its record fails. */
  readonly jobAttempts: number;
  /** $PROOFGATE_JOB_BACKOFF_MS, default 1000: delay before the first retry, doubled after each. */
  readonly jobBackoffMs: number;
  /** $PROOFGATE_SUBMIT, default all: which proved records are submitted on-chain (none: no chain). */
  readonly submitPolicy: SubmitPolicy;
  /** $RPC_URL: any EVM chain; unset = an anvil chain spawned on a free loopback port. */
  readonly rpcUrl: string | null;
  /** $PRIVATE_KEY, or $PROOFGATE_KEYSTORE with $PROOFGATE_KEYSTORE_PASSWORD; required with $RPC_URL. */
  readonly chainSigner: ChainSigner | null;
  /**
   * $PROOFGATE_ANVIL_STATE: the file the embedded anvil loads at start and saves while it runs and at
   * exit; default `<data dir>/chain/anvil-state.json`; `none` = a fresh, empty chain every start.
   */
  readonly anvilStatePath: string | null;
  /** $PROOFGATE_CHAIN_POLL_MS, default 250: how often proved records and oracle requests are looked for. */
  readonly chainPollMs: number;
  /** $PROOFGATE_ORACLE_FEE_WEI, default 10^15: the oracle's base fee per request (pays for fulfill itself), every model. */
  readonly oracleFeeWei: bigint;
  /** $PROOFGATE_ORACLE_FEE_PER_GAS_WEI, default 5·10^10 (50 gwei): what a request pays per gas of callback it asks for. */
  readonly oracleFeePerGasWei: bigint;
  /** $PROOFGATE_ORACLE_FEE_MARGIN, default 1.2: the oracle watcher fulfils a request only if its fee covers the estimated gas cost × this. */
  readonly oracleFeeMargin: number;
  /** $PROOFGATE_TIMELOCK_DELAY_S, default 172800 (2 days): how long a change of the contracts' rules waits in public (fixed at deployment). */
  readonly timelockDelayS: number;
  /** $PROOFGATE_ORACLE_TIMEOUT_S, default 3600: how long a request waits before its fee can be refunded. */
  readonly oracleTimeoutS: number;
}

export const DEFAULT_MODEL_ROOT = "artifacts/models";

/**
 * How long a record's holder (a prover, a generating gateway, the chain submitter) may stay silent
 * before it counts as gone and another takes the record over: the one default of every such lease.
 */
export const DEFAULT_PROOF_LEASE_MS = 30_000;

function integer(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) throw new Error(`${name} must be an integer >= ${min}, got "${raw}"`);
  return value;
}

function wei(env: NodeJS.ProcessEnv, name: string, fallback: bigint): bigint {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  if (!/^\d+$/.test(raw)) throw new Error(`${name} must be a whole number of wei, got "${raw}"`);
  return BigInt(raw);
}

function list(raw: string | undefined): string[] {
  return (raw ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const device = env.PROOFGATE_DEVICE || "auto";
  if (device !== "auto" && device !== "cpu" && device !== "cuda") {
    throw new Error(`PROOFGATE_DEVICE must be auto, cpu or cuda, got "${device}"`);
  }
  const submitPolicy = env.PROOFGATE_SUBMIT || "all";
  if (submitPolicy !== "all" && submitPolicy !== "none" && submitPolicy !== "requested") {
    throw new Error(`PROOFGATE_SUBMIT must be all, none or requested, got "${submitPolicy}"`);
  }
  const rpcUrl = env.RPC_URL || null;
  const chainSigner = signerFrom(env);
  if (rpcUrl && submitPolicy !== "none" && !chainSigner)
    throw new Error(
      "RPC_URL needs PRIVATE_KEY or PROOFGATE_KEYSTORE (with PROOFGATE_KEYSTORE_PASSWORD) to sign submissions",
    );
  const margin = Number(env.PROOFGATE_ORACLE_FEE_MARGIN || "1.2");
  if (!Number.isFinite(margin) || margin < 1)
    throw new Error(`PROOFGATE_ORACLE_FEE_MARGIN must be a number >= 1, got "${env.PROOFGATE_ORACLE_FEE_MARGIN}"`);
  const dataDir = resolve(env.PROOFGATE_DATA_DIR || "data");
  const apiKeys = list(env.PROOFGATE_API_KEYS);
  const namedApiKeys = env.PROOFGATE_API_KEYS_FILE ? loadApiKeysFile(resolve(env.PROOFGATE_API_KEYS_FILE)) : [];
  const plain = new Set(apiKeys.map(keySha256));
  const twice = namedApiKeys.find((k) => plain.has(k.sha256));
  if (twice) throw new Error(`PROOFGATE_API_KEYS_FILE: the key of "${twice.name}" is also in PROOFGATE_API_KEYS`);
  return Object.freeze({
    port: integer(env, "PORT", 8080, 0),
    host: env.HOST || "127.0.0.1",
    modelRoots: Object.freeze([resolve(DEFAULT_MODEL_ROOT)]),
    modelDirs: Object.freeze(list(env.PROOFGATE_MODELS).map((d) => resolve(d))),
    device,
    apiKeys: Object.freeze(apiKeys),
    namedApiKeys: Object.freeze(namedApiKeys),
    maxBatchSize: env.PROOFGATE_MAX_BATCH ? integer(env, "PROOFGATE_MAX_BATCH", 1, 1) : null,
    maxWaiting: integer(env, "PROOFGATE_MAX_WAITING", 256, 0),
    maxSequencesPerClient: integer(env, "PROOFGATE_MAX_SEQUENCES_PER_CLIENT", 32, 1),
    rateLimitPerMinute: integer(env, "PROOFGATE_RATE_LIMIT_RPM", 0, 0),
    maxProofBacklog: integer(env, "PROOFGATE_MAX_PROOF_BACKLOG", 5000, 0),
    maxProofEtaS: integer(env, "PROOFGATE_MAX_PROOF_ETA_S", 0, 0),
    bodyLimitBytes: integer(env, "PROOFGATE_BODY_LIMIT_BYTES", 1024 * 1024, 1),
    maxPromptChars: integer(env, "PROOFGATE_MAX_PROMPT_CHARS", 65_536, 1),
    defaultMaxTokens: integer(env, "PROOFGATE_DEFAULT_MAX_TOKENS", 256, 1),
    maxTokensLimit: integer(env, "PROOFGATE_MAX_TOKENS_LIMIT", 4096, 1),
    provenDefaultMaxTokens: integer(env, "PROOFGATE_PROVEN_DEFAULT_MAX_TOKENS", 32, 1),
    maxProofSteps: integer(env, "PROOFGATE_MAX_PROOF_STEPS", 256, 1),
    maxResponseTokens: integer(env, "PROOFGATE_MAX_RESPONSE_TOKENS", 131_072, 1),
    proofOrder: oneOf(env, "PROOFGATE_PROOF_ORDER", ["fair", "fifo"] as const, "fair"),
    logLevel: env.PROOFGATE_LOG_LEVEL || "info",
    logFormat: oneOf(env, "PROOFGATE_LOG_FORMAT", ["auto", "json", "pretty"] as const, "auto"),
    dataDir,
    databaseUrl: env.DATABASE_URL || null,
    databaseSchema: env.PROOFGATE_DB_SCHEMA || null,
    redisUrl: env.REDIS_URL || "redis://127.0.0.1:6379",
    queuePrefix: env.PROOFGATE_QUEUE_PREFIX || defaultQueuePrefix(env),
    provers: integer(env, "PROVERS", 1, 0),
    proverConcurrency: integer(env, "PROVER_CONCURRENCY", 2, 1),
    proverThreads: env.PROVER_THREADS ? integer(env, "PROVER_THREADS", 1, 1) : null,
    snarkThreads: oneOf(env, "PROOFGATE_SNARK_THREADS", ["off", "on"] as const, "off") === "on",
    proofLeaseMs: integer(env, "PROOFGATE_PROOF_LEASE_MS", DEFAULT_PROOF_LEASE_MS, 100),
    sweepIntervalMs: integer(env, "PROOFGATE_SWEEP_INTERVAL_MS", 30_000, 100),
    jobAttempts: integer(env, "PROOFGATE_JOB_ATTEMPTS", 3, 1),
    jobBackoffMs: integer(env, "PROOFGATE_JOB_BACKOFF_MS", 1000, 0),
    submitPolicy,
    rpcUrl,
    chainSigner,
    anvilStatePath: anvilStatePath(env.PROOFGATE_ANVIL_STATE, dataDir),
    chainPollMs: integer(env, "PROOFGATE_CHAIN_POLL_MS", 250, 10),
    oracleFeeWei: wei(env, "PROOFGATE_ORACLE_FEE_WEI", 10n ** 15n),
    oracleFeePerGasWei: wei(env, "PROOFGATE_ORACLE_FEE_PER_GAS_WEI", 5n * 10n ** 10n),
    oracleFeeMargin: margin,
    timelockDelayS: integer(env, "PROOFGATE_TIMELOCK_DELAY_S", 2 * 24 * 3600, 0),
    oracleTimeoutS: integer(env, "PROOFGATE_ORACLE_TIMEOUT_S", 3600, 1),
  });
}

function oneOf<const T extends string>(env: NodeJS.ProcessEnv, name: string, values: readonly T[], fallback: T): T {
  const value = env[name] || fallback;
  if (!(values as readonly string[]).includes(value))
    throw new Error(`${name} must be ${values.join(", ")}; got "${value}"`);
  return value as T;
}

/**
 * The queue's key prefix names the store it serves: the PostgreSQL database (host, port, database and
 * schema, never the credentials) or the SQLite data folder. Two deployments on one Redis then never
 * share a queue by accident, while a gateway and its workers on the same database do.
 */
export function defaultQueuePrefix(env: NodeJS.ProcessEnv): string {
  let store: string;
  if (env.DATABASE_URL) {
    let url: URL;
    try {
      url = new URL(env.DATABASE_URL);
    } catch {
      throw new Error("DATABASE_URL is not a URL (postgres://user:password@host:port/database)");
    }
    store = `postgres://${url.hostname}:${url.port || "5432"}${url.pathname}#${env.PROOFGATE_DB_SCHEMA ?? ""}`;
  } else {
    store = `sqlite:${resolve(env.PROOFGATE_DATA_DIR || "data")}`;
  }
  return `proofgate-${createHash("sha256").update(store).digest("hex").slice(0, 12)}`;
}

/** The environment with some variables set: how a CLI option stands in for its variable. */
export function environmentWith(overrides: Readonly<Record<string, string>>): NodeJS.ProcessEnv {
  return { ...process.env, ...overrides };
}

/** $PROOFGATE_DEBUG: a failed command prints its stack trace too. Apart from Config: loading it may be what failed. */
export function debugRequested(env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(env.PROOFGATE_DEBUG);
}

/** $PROOFGATE_PTAU: the phase-1 file `proofgate compile` uses when given none (a compiler setting, not the gateway's). */
export function ptauFromEnvironment(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return env.PROOFGATE_PTAU;
}

export const ANVIL_STATE_FILE = join("chain", "anvil-state.json");

/** The embedded chain's state file: the data dir's by default, another file, or none (`none`: a fresh chain). */
function anvilStatePath(raw: string | undefined, dataDir: string): string | null {
  if (raw === "none") return null;
  return raw ? resolve(raw) : join(dataDir, ANVIL_STATE_FILE);
}

function signerFrom(env: NodeJS.ProcessEnv): ChainSigner | null {
  if (env.PRIVATE_KEY) {
    if (!/^(0x)?[0-9a-fA-F]{64}$/.test(env.PRIVATE_KEY)) throw new Error("PRIVATE_KEY must be 32 bytes of hex");
    return {
      kind: "key",
      privateKey: new Secret(env.PRIVATE_KEY.startsWith("0x") ? env.PRIVATE_KEY : `0x${env.PRIVATE_KEY}`),
    };
  }
  if (env.PROOFGATE_KEYSTORE) {
    if (env.PROOFGATE_KEYSTORE_PASSWORD === undefined)
      throw new Error("PROOFGATE_KEYSTORE needs PROOFGATE_KEYSTORE_PASSWORD");
    return {
      kind: "keystore",
      path: resolve(env.PROOFGATE_KEYSTORE),
      password: new Secret(env.PROOFGATE_KEYSTORE_PASSWORD),
    };
  }
  return null;
}
