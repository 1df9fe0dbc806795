/**
 * The proof record: what the store keeps for each provable request and what `GET /v1/proofs/{id}`
 * returns (SPEC, "HTTP"). Code uses camelCase; `toWireProof` is the one mapper to SPEC's snake_case.
 * Its status machine is data (`ALLOWED_TRANSITIONS`), so the stores, the workers and the tests all
 * consult the same table. The wire shapes are zod schemas, so the API validates and documents
 * (OpenAPI) the very types the mappers return.
 */
import { z } from "zod";
import { ProofgateError } from "./errors.js";
import { newId } from "./ids.js";

export const PROOF_STATUSES = ["generating", "queued", "proving", "proved", "submitted", "verified", "failed"] as const;
export const ProofStatus = z.enum(PROOF_STATUSES).meta({ id: "ProofStatus" });
export type ProofStatus = z.infer<typeof ProofStatus>;

/**
 * The moves a record may make. A generation's record is `generating` from before its answer's first
 * byte until every choice is generated: then `queued` with its steps, or `failed` with the reason when
 * the generation was cut off (client gone, generation error, gateway killed: the sweep's). `proving → queued` hands a job back (graceful shutdown, or a sweep
 * finding an expired lease after a worker died). `proved`/`submitted → failed` is an on-chain
 * submission that keeps failing. `verified → proved` is the start-up re-check's alone (src/chain/
 * chain-recheck.ts): the chain the gateway is connected to no longer holds the record's transaction,
 * so it goes back to be submitted again, the reason in `error`. `failed` is final: a failed job is
 * not looped on.
 */
export const ALLOWED_TRANSITIONS: Readonly<Record<ProofStatus, readonly ProofStatus[]>> = {
  generating: ["queued", "failed"],
  queued: ["proving", "failed"],
  proving: ["proved", "queued", "failed"],
  proved: ["submitted", "failed"],
  submitted: ["verified", "failed"],
  verified: ["proved"],
  failed: [],
};

export function isProofStatus(value: unknown): value is ProofStatus {
  return typeof value === "string" && (PROOF_STATUSES as readonly string[]).includes(value);
}

export function canTransition(from: ProofStatus, to: ProofStatus): boolean {
  return ALLOWED_TRANSITIONS[from].includes(to);
}

/** Throws `conflict` for a move the table does not allow (a bug in the caller, not a race). */
export function assertTransition(from: ProofStatus, to: ProofStatus): void {
  if (!canTransition(from, to)) {
    const allowed = ALLOWED_TRANSITIONS[from];
    throw new ProofgateError(
      "conflict",
      `proof status cannot move from ${from} to ${to}; from ${from} it may move to ${allowed.length ? allowed.join(", ") : "nothing (final)"}`,
      { param: "status" },
    );
  }
}

/** Milliseconds per named stage (queued, witness, prove, verify, submit, …), as /metrics names them. */
const ProofTimings = z.record(z.string(), z.number()).describe("milliseconds per stage");
export type ProofTimings = z.infer<typeof ProofTimings>;

/** One decoding step of a generated sequence: proved on its own, by its own child job. */
export interface ProofStep {
  readonly index: number;
  readonly status: ProofStatus;
  /** Field elements as decimal strings, in the circuit's public-signal order. */
  readonly publicSignals: string[] | null;
  /** snarkjs Groth16 proof JSON. */
  readonly proof: unknown;
  readonly output: unknown;
  readonly timings: ProofTimings;
  readonly prover: string | null;
}

/** Where a proof went on-chain. Block and gas are null while the transaction is not mined yet (`submitted`). */
export interface ProofChainReceipt {
  readonly chainId: number;
  readonly contract: string;
  readonly txHash: string;
  readonly blockNumber: bigint | null;
  readonly gasUsed: bigint | null;
  /**
   * The input commitment the registry recorded the proof under, decimal: `decode(key, signals)`'s first
   * value for an inference, the first state of the first trace for a generation. Absent or null when
   * not known (receipts written before it was recorded); a record read back leaves it out then.
   */
  readonly inputCommitment?: string | null;
  /**
   * Who sent the transaction that recorded it: the gateway's account, or anyone who got there first
   * (a copy of its pending transaction included). Absent or null while not mined, or when not known.
   */
  readonly submittedBy?: string | null;
}

export interface ProofRecord {
  readonly id: string;
  readonly model: string;
  /** Unix seconds, as OpenAI's `created`. */
  readonly created: number;
  readonly status: ProofStatus;
  /** What was asked, exactly as committed (sample, nonce, prompt tokens…): any JSON value. */
  readonly request: unknown;
  /** Any JSON value. */
  readonly output: unknown;
  readonly publicSignals: string[] | null;
  /** snarkjs Groth16 proof JSON once proved, else null. */
  readonly proof: unknown;
  readonly vkeyHash: string | null;
  /** One entry per decoding step for a generated sequence, else empty. */
  readonly steps: ProofStep[];
  readonly timings: ProofTimings;
  readonly chain: ProofChainReceipt | null;
  /** Identity of the worker that made the proof. */
  readonly prover: string | null;
  /** Why it failed, when `status` is `failed`. */
  readonly error: string | null;
  /** How many times a worker has claimed it (each move into `proving` counts one). */
  readonly attempts: number;
  /** Set by the store on every write; the re-enqueue sweep compares it with a lease. */
  readonly updatedAtMs: number;
}

/** What `ProofStore.create` takes: the store sets `updatedAtMs`. */
export type NewProofRecord = Omit<ProofRecord, "updatedAtMs">;

export interface NewProofRecordOptions {
  readonly model: string;
  readonly request: unknown;
  /** @defaultValue null */
  readonly output?: unknown;
  /** @defaultValue null */
  readonly vkeyHash?: string | null;
  /** @defaultValue [] */
  readonly steps?: ProofStep[];
  /** @defaultValue a fresh `proof-…` id */
  readonly id?: string;
  /** @defaultValue now, in unix seconds */
  readonly created?: number;
  /** `generating` for a generation whose answer is still being produced. @defaultValue "queued" */
  readonly status?: "queued" | "generating";
}

/** A `queued` (or `generating`) record with every optional field empty: what the gateway stores for a new request. */
export function newProofRecord(options: NewProofRecordOptions): NewProofRecord {
  return {
    id: options.id ?? newId("proof"),
    model: options.model,
    created: options.created ?? Math.floor(Date.now() / 1000),
    status: options.status ?? "queued",
    request: options.request,
    output: options.output ?? null,
    publicSignals: null,
    proof: null,
    vkeyHash: options.vkeyHash ?? null,
    steps: options.steps ?? [],
    timings: {},
    chain: null,
    prover: null,
    error: null,
    attempts: 0,
  };
}

// ---- Wire shapes (SPEC spells them; bigints are decimal strings in JSON, STYLE rule 4) ----

const PublicSignals = z.array(z.string()).nullable().describe("field elements as decimal strings");

export const WireProofStep = z
  .object({
    index: z.int(),
    status: ProofStatus,
    public_signals: PublicSignals,
    proof: z.unknown().describe("snarkjs Groth16 proof JSON once proved, else null"),
    output: z.unknown(),
    timings: ProofTimings,
    prover: z.string().nullable(),
  })
  .meta({ id: "ProofStep" });
export type WireProofStep = z.infer<typeof WireProofStep>;

export const WireProofChain = z
  .object({
    chain_id: z.int(),
    contract: z.string(),
    tx_hash: z.string(),
    block_number: z.string().nullable().describe("decimal; null until mined"),
    gas_used: z.string().nullable().describe("decimal; null until mined"),
    input_commitment: z
      .string()
      .nullable()
      .describe(
        "decimal: the input commitment the registry recorded (a generation: the first state of its first trace); null when not known",
      ),
    submitted_by: z
      .string()
      .nullable()
      .describe(
        "the sender of the transaction that recorded it (the gateway's account, or whoever got there first); null until mined or when not known",
      ),
  })
  .meta({ id: "ProofChain" });
export type WireProofChain = z.infer<typeof WireProofChain>;

export const WireProof = z
  .object({
    id: z.string(),
    object: z.literal("proof"),
    status: ProofStatus,
    model: z.string(),
    created: z.int(),
    request: z.unknown().describe("what was asked, as committed"),
    output: z.unknown(),
    public_signals: PublicSignals,
    proof: z.unknown().describe("snarkjs Groth16 proof JSON once proved, else null"),
    vkey_hash: z.string().nullable(),
    steps: z.array(WireProofStep).describe("one entry per decoding step of a generated sequence, else empty"),
    timings: ProofTimings,
    chain: WireProofChain.nullable(),
    prover: z.string().nullable().describe("the worker that made the proof"),
    error: z.string().nullable().describe("why it failed, when status is failed"),
  })
  .meta({ id: "Proof" });
export type WireProof = z.infer<typeof WireProof>;

export function toWireStep(step: ProofStep): WireProofStep {
  return {
    index: step.index,
    status: step.status,
    public_signals: step.publicSignals,
    proof: step.proof,
    output: step.output,
    timings: step.timings,
    prover: step.prover,
  };
}

export function fromWireStep(wire: WireProofStep): ProofStep {
  return {
    index: wire.index,
    status: wire.status,
    publicSignals: wire.public_signals,
    proof: wire.proof,
    output: wire.output,
    timings: wire.timings,
    prover: wire.prover,
  };
}

export function toWireChain(chain: ProofChainReceipt | null): WireProofChain | null {
  if (chain === null) return null;
  return {
    chain_id: chain.chainId,
    contract: chain.contract,
    tx_hash: chain.txHash,
    block_number: chain.blockNumber?.toString() ?? null,
    gas_used: chain.gasUsed?.toString() ?? null,
    input_commitment: chain.inputCommitment ?? null,
    submitted_by: chain.submittedBy ?? null,
  };
}

/** Takes rows stored before `input_commitment` or `submitted_by` existed too: each is left out when absent or null. */
export function fromWireChain(
  wire:
    | (Omit<WireProofChain, "input_commitment" | "submitted_by"> & {
        input_commitment?: string | null;
        submitted_by?: string | null;
      })
    | null,
): ProofChainReceipt | null {
  if (wire === null) return null;
  return {
    chainId: wire.chain_id,
    contract: wire.contract,
    txHash: wire.tx_hash,
    blockNumber: wire.block_number === null ? null : BigInt(wire.block_number),
    gasUsed: wire.gas_used === null ? null : BigInt(wire.gas_used),
    ...(typeof wire.input_commitment === "string" ? { inputCommitment: wire.input_commitment } : {}),
    ...(typeof wire.submitted_by === "string" ? { submittedBy: wire.submitted_by } : {}),
  };
}

/** The record as `GET /v1/proofs/{id}` answers it. `attempts` and `updatedAtMs` stay internal. */
export function toWireProof(record: ProofRecord): WireProof {
  return {
    id: record.id,
    object: "proof",
    status: record.status,
    model: record.model,
    created: record.created,
    request: record.request,
    output: record.output,
    public_signals: record.publicSignals,
    proof: record.proof,
    vkey_hash: record.vkeyHash,
    steps: record.steps.map(toWireStep),
    timings: record.timings,
    chain: toWireChain(record.chain),
    prover: record.prover,
    error: record.error,
  };
}
