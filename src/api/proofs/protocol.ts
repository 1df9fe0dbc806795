/** Wire schemas of GET /v1/proofs, GET /v1/proofs/{id} and its verification key (SPEC, "HTTP"). */
import { z } from "zod";
import { PROOF_STATUSES } from "../../core/proof-record.js";
import { LIST_LIMIT_MAX } from "../../store/proof-row.js";

/** The longest `?wait=` a client may ask for, in seconds. */
export const MAX_WAIT_SECONDS = 60;

export const ProofStatus = z.enum(PROOF_STATUSES).meta({ id: "ProofStatus" });

const Timings = z.record(z.string(), z.number()).describe("milliseconds per stage");
const PublicSignals = z.array(z.string()).nullable().describe("field elements as decimal strings");

export const WireProofStep = z
  .object({
    index: z.int(),
    status: ProofStatus,
    public_signals: PublicSignals,
    proof: z.unknown().describe("snarkjs Groth16 proof JSON once proved, else null"),
    output: z.unknown(),
    timings: Timings,
    prover: z.string().nullable(),
  })
  .meta({ id: "ProofStep" });

export const WireProofChain = z
  .object({
    chain_id: z.int(),
    contract: z.string(),
    tx_hash: z.string(),
    block_number: z.string().nullable().describe("decimal; null until mined"),
    gas_used: z.string().nullable().describe("decimal; null until mined"),
  })
  .meta({ id: "ProofChain" });

/** Mirrors `WireProof` of core/proof-record.ts; the service assigns one to the other, so tsc keeps them in step. */
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
    timings: Timings,
    chain: WireProofChain.nullable(),
    prover: z.string().nullable().describe("the worker that made the proof"),
    error: z.string().nullable().describe("why it failed, when status is failed"),
  })
  .meta({ id: "Proof" });
export type WireProof = z.infer<typeof WireProof>;

export const ProofList = z
  .object({ object: z.literal("list"), data: z.array(WireProof), has_more: z.boolean() })
  .meta({ id: "ProofList" });
export type ProofList = z.infer<typeof ProofList>;

/** What other responses embed to point at their proof. */
/** The `proof` field of a request: false skips proving; {"submit": true} asks for on-chain submission (PROOFGATE_SUBMIT=requested). */
export const ProofParamSchema = z
  .union([z.boolean(), z.strictObject({ submit: z.boolean() })])
  .nullish()
  .describe('false skips proving; {"submit": true} asks for on-chain submission when PROOFGATE_SUBMIT=requested');

export const ProofRef = z
  .object({ id: z.string(), status: ProofStatus, url: z.string().describe("/v1/proofs/{id}") })
  .meta({ id: "ProofRef" });
export type ProofRef = z.infer<typeof ProofRef>;

export const VerificationKey = z.record(z.string(), z.unknown()).describe("snarkjs verification key JSON").meta({ id: "VerificationKey" });
export type VerificationKey = z.infer<typeof VerificationKey>;

// Query strings arrive as strings (or arrays when repeated), so numbers are parsed here, strictly.
const integerString = z.string().regex(/^\d+$/, "expected an integer").transform(Number);
const numberString = z.string().regex(/^\d+(\.\d+)?$/, "expected a number of seconds").transform(Number);

export const ProofListQuery = z.object({
  status: ProofStatus.optional(),
  model: z.string().optional(),
  limit: integerString.pipe(z.int().min(1).max(LIST_LIMIT_MAX)).optional(),
  after: z.string().min(1).optional(),
});
export type ProofListQuery = z.infer<typeof ProofListQuery>;

export const ProofGetQuery = z.object({
  wait: numberString.pipe(z.number().min(0).max(MAX_WAIT_SECONDS)).optional(),
});
export type ProofGetQuery = z.infer<typeof ProofGetQuery>;
