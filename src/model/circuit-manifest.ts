/**
 * What `proofgate compile` writes next to a compiled circuit (`circuit.json`): the model id, the public
 * signal layout and packing, the hinted layers and the file names (the trusted setup's transcript is
 * `setup.json`, see src/snark/setup-transcript.ts). A file of the model's directory like card.json,
 * apart from the compiler (src/circuit/) so the serving side reads it without loading the compiler.
 * The schemas here are the one definition of these shapes: the emitter's types, the API's wire
 * schemas and the reader all take them from here.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { ProofgateError } from "../core/errors.js";
import { readArtifact, versioned } from "../core/read-artifact.js";
import { IntegerInput } from "./integer-model.js";

export const MANIFEST_FILE = "circuit.json";

/** Bumped whenever emitted circuits change meaning: it is part of every model id and the manifest's `format`. */
export const CIRCUIT_FORMAT = 2;

export const CircuitKind = z.enum(["token-step", "classify", "tensor"]);
export type CircuitKind = z.infer<typeof CircuitKind>;

export const PublicSignal = z.object({ name: z.string(), meaning: z.string() });
export type PublicSignal = z.infer<typeof PublicSignal>;

/** How public signals encode the request and the answer; witness/ and verifiers read it. */
export const Packing = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("token-step"), tokenBits: z.int(), context: z.int(), nonceBits: z.int() }),
  z.object({
    kind: z.literal("classify"),
    inputBits: z.int(),
    inputOffset: z.int(),
    perWord: z.int(),
    words: z.int(),
    valueBits: z.int(),
  }),
  z.object({
    kind: z.literal("tensor"),
    inputBits: z.int(),
    inputOffset: z.int(),
    perWord: z.int(),
    words: z.int(),
    outputBits: z.int(),
    outputOffset: z.int(),
    outputsPerWord: z.int(),
    outputWords: z.int(),
  }),
]);
export type Packing = z.infer<typeof Packing>;

export const HintLayer = z.object({
  /** Circuit input name of this linear layer's outputs. */
  signal: z.string(),
  /** Index of the layer in the IntegerModel. */
  layer: z.int(),
  width: z.int(),
});
export type HintLayer = z.infer<typeof HintLayer>;

export const QuantizationReport = z.object({
  calibration_samples: z.int(),
  calibration: z.enum(["given", "synthetic"]),
  /** Mean |float − dequantized integer| over outputs, relative to the mean |float| output. */
  relative_error: z.number(),
  max_abs_error: z.number(),
  argmax_agreement: z.number(),
});
export type QuantizationReport = z.infer<typeof QuantizationReport>;

export const CircuitManifest = versioned(
  "format",
  z.object({
    format: z.literal(CIRCUIT_FORMAT),
    model_id: z.string(),
    /** model_id as the field element hashed into commitments (its first 248 bits). */
    model_id_field: z.string(),
    kind: CircuitKind,
    output: z.enum(["argmax", "logits"]),
    input: IntegerInput,
    classes: z.int(),
    constraints: z.int(),
    public_signals: z.array(PublicSignal).readonly(),
    packing: Packing,
    hints: z.array(HintLayer).readonly(),
    input_signal: z.string(),
    vkey_hash: z.string(),
    ptau: z.object({ file: z.string(), power: z.int() }),
    quantization: QuantizationReport.optional(),
    files: z.object({
      onnx: z.string(),
      r1cs: z.string(),
      wasm: z.string(),
      witness_map: z.string(),
      zkey: z.string(),
      vkey: z.string(),
      verifier_sol: z.string(),
      circom: z.string(),
    }),
  }),
);
export type CircuitManifest = z.infer<typeof CircuitManifest>;

/** A snarkjs Groth16 verification key (`verification_key.json`): the fields proofgate reads, the rest kept as written. */
export const VerificationKeyFile = z.looseObject({
  protocol: z.literal("groth16"),
  curve: z.string(),
  nPublic: z.int(),
});
export type VerificationKeyFile = z.infer<typeof VerificationKeyFile>;

/** A compiled model directory's manifest: how the prover, the CLI and the setup tools read one. */
export async function loadManifest(dir: string): Promise<CircuitManifest> {
  const path = join(dir, MANIFEST_FILE);
  if (!existsSync(path))
    throw new ProofgateError(
      "invalid_argument",
      `${dir} is not a compiled model directory (no ${MANIFEST_FILE}; run proofgate compile)`,
    );
  return readArtifact(path, CircuitManifest);
}
