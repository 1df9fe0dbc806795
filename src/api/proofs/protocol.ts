/** Wire schemas of GET /v1/proofs, GET /v1/proofs/{id}, its verification key and its circuit (SPEC, "HTTP"). */
import { z } from "zod";
import { CircuitKind as CircuitKindSchema, Packing, PublicSignal } from "../../model/circuit-manifest.js";
import { ProofStatus, WireProof } from "../../core/proof-record.js";
import { IntegerInput } from "../../model/integer-model.js";
import { SpamFeaturizerJSON } from "../../model/spam-features.js";
import { DecodedSignals as DecodedSignalsSchema } from "../../witness/circuit-input.js";
import { LIST_LIMIT_MAX } from "../../store/proof-row.js";

/** The longest `?wait=` a client may ask for, in seconds. */
export const MAX_WAIT_SECONDS = 60;

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
  .object({
    id: z.string(),
    status: ProofStatus,
    url: z.string().describe("/v1/proofs/{id}"),
    eta_s: z
      .number()
      .nullable()
      .optional()
      .describe(
        "estimated seconds until proved, from the proof backlog when the request was accepted (null: nothing measured yet)",
      ),
  })
  .meta({ id: "ProofRef" });
export type ProofRef = z.infer<typeof ProofRef>;

export const VerificationKey = z
  .record(z.string(), z.unknown())
  .describe("snarkjs verification key JSON")
  .meta({ id: "VerificationKey" });
export type VerificationKey = z.infer<typeof VerificationKey>;

export const CircuitKind = CircuitKindSchema.meta({ id: "CircuitKind" });

export const CircuitPublicSignal = PublicSignal.meta({ id: "CircuitPublicSignal" });

/** What a circuit is, from its manifest (circuit.json): shared by GET /v1/proofs/{id}/circuit and GET /v1/stats. */
export const CircuitSummary = z
  .object({
    model_id: z.string().describe("the circuit's model id (sha256 of the integer model), as proof requests name it"),
    vkey_hash: z.string(),
    kind: CircuitKind,
    constraints: z.int(),
    public_signals: z.array(CircuitPublicSignal).describe("the circuit's public signals, in order"),
  })
  .meta({ id: "CircuitSummary" });
export type CircuitSummary = z.infer<typeof CircuitSummary>;

export const DecodedSignals = DecodedSignalsSchema.describe(
  "what the public signals say, read by the circuit's packing",
).meta({ id: "DecodedSignals" });

export const CircuitLayout = z
  .object({
    model_id_field: z.string().describe("the model id as the field element commitments hash first (decimal)"),
    output: z.enum(["argmax", "logits"]),
    classes: z.int(),
    input: IntegerInput,
    packing: Packing,
  })
  .describe(
    "how the circuit packs its input and output into public signals: what a verifier needs to decode them and recompute the commitment",
  )
  .meta({ id: "CircuitLayout" });
export type CircuitLayout = z.infer<typeof CircuitLayout>;

export const TextFeaturizer = SpamFeaturizerJSON.describe(
  "the classifier's text → sample featurizer (featurizer.json beside the circuit): a verifier recomputes the sample from the text with it",
).meta({ id: "TextFeaturizer" });
export type TextFeaturizer = z.infer<typeof TextFeaturizer>;

export const NamedSignal = z
  .object({ name: z.string(), value: z.string().describe("field element, decimal") })
  .meta({ id: "NamedSignal" });

const NamedSignals = z
  .array(NamedSignal)
  .nullable()
  .describe("the public signals named by the circuit; null until proved");

export const ProofCircuit = z
  .object({
    object: z.literal("circuit"),
    ...CircuitSummary.shape,
    layout: CircuitLayout,
    featurizer: TextFeaturizer.nullable().describe("null for a model that takes no text"),
    signals: NamedSignals.describe(
      "the record's own public signals (a single proof); null until proved, and for a generation",
    ),
    decoded: DecodedSignals.nullable().describe("`signals` decoded; null when there are none"),
    steps: z
      .array(z.object({ index: z.int(), signals: NamedSignals, decoded: DecodedSignals.nullable() }))
      .describe("a generation: each decoding step's public signals, decoded; else empty"),
  })
  .meta({ id: "ProofCircuit" });
export type ProofCircuit = z.infer<typeof ProofCircuit>;

/** What `?q=` may hold: letters, digits, `_` and `-`, so neither a LIKE wildcard nor a quote reaches a store. */
export const SEARCH_PATTERN = /^[0-9A-Za-z_-]{1,100}$/;

// Query strings arrive as strings (or arrays when repeated), so numbers are parsed here, strictly.
const integerString = z.string().regex(/^\d+$/, "expected an integer").transform(Number);
const numberString = z
  .string()
  .regex(/^\d+(\.\d+)?$/, "expected a number of seconds")
  .transform(Number);

export const ProofListQuery = z.object({
  status: ProofStatus.optional(),
  model: z.string().optional(),
  limit: integerString.pipe(z.int().min(1).max(LIST_LIMIT_MAX)).optional(),
  after: z.string().min(1).optional(),
  q: z
    .string()
    .regex(SEARCH_PATTERN, "expected 1 to 100 letters, digits, _ or -")
    .optional()
    .describe(
      "a proof id, a transaction hash, an input commitment, or a public signal (decimal or 0x-hex), matched exactly",
    ),
});
export type ProofListQuery = z.infer<typeof ProofListQuery>;

export const ProofGetQuery = z.object({
  wait: numberString.pipe(z.number().min(0).max(MAX_WAIT_SECONDS)).optional(),
});
export type ProofGetQuery = z.infer<typeof ProofGetQuery>;
