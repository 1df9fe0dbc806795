/**
 * What `proofgate compile` writes next to a compiled circuit (`circuit.json`): the model id, the public
 * signal layout and packing, the hinted layers and the file names (the trusted setup's transcript is
 * `setup.json`, see src/snark/setup-transcript.ts). A file of the model's directory like card.json,
 * apart from the compiler (src/circuit/) so the serving side reads it without loading the compiler.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
// type-only, so nothing of the compiler loads; test/dependencies/ lists it as the one allowed exception
import type { CircuitKind, HintLayer, Packing, PublicSignal } from "../circuit/emit-circuit.js";
import type { IntegerModel } from "./integer-model.js";

export const MANIFEST_FILE = "circuit.json";

/** A compiled model directory's manifest: how the prover, the CLI and the setup tools read one. */
export async function loadManifest(dir: string): Promise<CircuitManifest> {
  try {
    return JSON.parse(await readFile(join(dir, MANIFEST_FILE), "utf8")) as CircuitManifest;
  } catch (err) {
    throw new Error(`${dir} is not a compiled model directory (no readable ${MANIFEST_FILE}; run proofgate compile)`, { cause: err });
  }
}

export interface CircuitManifest {
  readonly format: number;
  readonly model_id: string;
  /** model_id as the field element hashed into commitments (its first 248 bits). */
  readonly model_id_field: string;
  readonly kind: CircuitKind;
  readonly output: "argmax" | "logits";
  readonly input: IntegerModel["input"];
  readonly classes: number;
  readonly constraints: number;
  readonly public_signals: readonly PublicSignal[];
  readonly packing: Packing;
  readonly hints: readonly HintLayer[];
  readonly input_signal: string;
  readonly vkey_hash: string;
  readonly ptau: { readonly file: string; readonly power: number };
  readonly quantization?: QuantizationReport;
  readonly files: { readonly onnx: string; readonly r1cs: string; readonly wasm: string; readonly witness_map: string; readonly zkey: string; readonly vkey: string; readonly verifier_sol: string; readonly circom: string };
}

export interface QuantizationReport {
  readonly calibration_samples: number;
  readonly calibration: "given" | "synthetic";
  /** Mean |float − dequantized integer| over outputs, relative to the mean |float| output. */
  readonly relative_error: number;
  readonly max_abs_error: number;
  readonly argmax_agreement: number;
}
