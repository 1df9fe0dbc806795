/**
 * A compiled model directory as the prover uses it: manifest, integer model, witness calculator,
 * proving key path and verification key, loaded once and kept.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { MANIFEST_FILE, type CircuitManifest } from "../circuit/circuit-manifest.js";
import { integerModelFromOnnx, type IntegerModel } from "../model/integer-model.js";
import { CircuitWitness } from "../witness/witness-calculator.js";

export interface CompiledModel {
  readonly dir: string;
  readonly manifest: CircuitManifest;
  readonly model: IntegerModel;
  readonly witness: CircuitWitness;
  readonly zkeyPath: string;
  /** The proving key's bytes, read once: snarkjs would otherwise read the file again for every proof. */
  readonly zkey: Uint8Array;
  readonly vkey: Record<string, unknown>;
}

export async function loadManifest(dir: string): Promise<CircuitManifest> {
  try {
    return JSON.parse(await readFile(join(dir, MANIFEST_FILE), "utf8")) as CircuitManifest;
  } catch (err) {
    throw new Error(`${dir} is not a compiled model directory (no readable ${MANIFEST_FILE}; run proofgate compile)`, { cause: err });
  }
}

export async function loadCompiledModel(dir: string): Promise<CompiledModel> {
  const manifest = await loadManifest(dir);
  const model = integerModelFromOnnx(await readFile(join(dir, manifest.files.onnx)));
  if (!model) throw new Error(`${join(dir, manifest.files.onnx)} is not an integer-exact model`);
  return {
    dir,
    manifest,
    model,
    witness: await CircuitWitness.load(join(dir, manifest.files.wasm), join(dir, manifest.files.witness_map)),
    zkeyPath: join(dir, manifest.files.zkey),
    zkey: new Uint8Array(await readFile(join(dir, manifest.files.zkey))),
    vkey: JSON.parse(await readFile(join(dir, manifest.files.vkey), "utf8")) as Record<string, unknown>,
  };
}
