/**
 * `proofgate compile`: ONNX → integer-exact model → circom → r1cs + witness wasm → Groth16 phase 2
 * (its first contribution, fresh entropy; outside parties add theirs later, see phase2.ts) → proving
 * key, verification key and Solidity verifier, with a manifest that the witness and prover stages read
 * and the setup transcript (setup.json). A directory whose manifest names the same model id is reused.
 */
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import onnxProto from "onnx-proto";
import { isProofgateError } from "../core/errors.js";
import { round } from "../core/numbers.js";
import { readArtifact } from "../core/read-artifact.js";
import { Random } from "../core/random.js";
import { argmaxFirst, integerModelFromOnnx, runIntegerModel, type IntegerModel } from "../model/integer-model.js";
import { integerModelToOnnx } from "../onnx/integer-onnx-export.js";
import { importOnnx } from "../onnx/onnx-import.js";
import { importIntegerOnnxGraph } from "../onnx/integer-onnx-import.js";
import { quantizeInput, quantizeModel, runFloatModel, type FloatModel } from "../model/quantize.js";
import { ptauFromEnvironment } from "../config/config.js";
import { PROJECT_ROOT } from "../config/project.js";
import { CIRCUIT_FORMAT, CircuitManifest, MANIFEST_FILE, type QuantizationReport } from "../model/circuit-manifest.js";
import { writeSetupTranscript } from "../snark/setup-transcript.js";
import type { SnarkLogger } from "../snark/snark-logger.js";
import { vkeyHash } from "../snark/vkey-hash.js";
import { compileCircom } from "./compile-circom.js";
import { emitCircuit } from "./emit-circuit.js";
import { loadConstraintSystemInfo } from "./r1cs.js";
import { loadSymbols } from "./symbols.js";
import { ptauFileName } from "./ceremony.js";
import { exportKeys, makeSetupTranscript, shownPath, startPhase2, verifyPhase2 } from "./phase2.js";
import { ptauPower } from "./snark-binfile.js";

/** Above this many constant terms, circom's --O2 on this machine takes longer than 5 minutes (the student's 347k did). */
const O2_TERM_LIMIT = 100_000;
export const DEFAULT_PTAU = join(PROJECT_ROOT, "artifacts", "ptau", ptauFileName(15));

export interface CompileOptions {
  readonly onnx: Uint8Array;
  readonly outDir: string;
  /** Samples shaped as the ONNX input without the batch dimension. */
  readonly calibration?: readonly (readonly number[])[];
  /** @defaultValue artifacts/ptau/pot15_final.ptau, or $PROOFGATE_PTAU */
  readonly ptau?: string;
  readonly logger?: SnarkLogger;
  /** Called with the name of each phase as it starts. */
  readonly onPhase?: (phase: string) => void;
}

export interface CompileResult {
  readonly manifest: CircuitManifest;
  readonly dir: string;
  readonly reused: boolean;
}

/** sha256 over everything that defines the circuit: format, output mode, the integer model's bytes. */
export function modelId(model: IntegerModel, output: "argmax" | "logits"): string {
  const h = createHash("sha256");
  h.update(`proofgate-circuit/${CIRCUIT_FORMAT}/${output}/`);
  h.update(integerModelToOnnx(model, "model"));
  return h.digest("hex");
}

function syntheticCalibration(model: FloatModel, count: number): number[][] {
  const rng = new Random(1);
  const n = model.input.kind === "tokens" ? model.input.context : model.input.size;
  const sample = (): number[] => {
    if (model.input.kind === "tokens")
      return Array.from({ length: n }, () => rng.int((model.input as { vocabSize: number }).vocabSize));
    if (model.input.kind === "bits") return Array.from({ length: n }, () => rng.int(2));
    return Array.from({ length: n }, () => rng.next() * 2 - 1);
  };
  return Array.from({ length: count }, sample);
}

interface Prepared {
  readonly model: IntegerModel;
  readonly output: "argmax" | "logits";
  readonly quantization?: QuantizationReport;
}

function prepareModel(onnx: Uint8Array, calibration?: readonly (readonly number[])[]): Prepared {
  const integer = integerModelFromOnnx(onnx);
  if (integer) {
    const task = onnxProto.onnx.ModelProto.decode(onnx).metadataProps.find((p) => p.key === "proofgate.task")?.value;
    return {
      model: integer,
      output: task === "text-generation" || task === "text-classification" ? "argmax" : "logits",
    };
  }
  // the same integer patterns without proofgate's metadata (made elsewhere): compiled as they are
  const plain = importIntegerOnnxGraph(onnx);
  if (plain) return { model: plain.model, output: plain.argmax ? "argmax" : "logits" };
  const imported = importOnnx(onnx);
  const samples = calibration && calibration.length > 0 ? calibration : syntheticCalibration(imported.model, 256);
  const n = imported.model.input.kind === "tokens" ? imported.model.input.context : imported.model.input.size;
  const bad = samples.findIndex((s) => s.length !== n);
  if (bad >= 0) throw new Error(`calibration input ${bad} has ${samples[bad].length} values; model expects ${n}`);
  const { model, outputScales } = quantizeModel(imported.model, { calibration: samples });
  const scale = outputScales[outputScales.length - 1];
  let errSum = 0;
  let refSum = 0;
  let maxAbs = 0;
  let agree = 0;
  for (const s of samples) {
    const reference = runFloatModel(imported.model, s).at(-1)!;
    const integerInput = model.input.kind === "int" ? quantizeInput(model.input, s) : [...s];
    const got = runIntegerModel(model, integerInput);
    reference.forEach((r, i) => {
      const e = Math.abs(r - got[i] * scale);
      errSum += e;
      refSum += Math.abs(r);
      maxAbs = Math.max(maxAbs, e);
    });
    if (argmaxFirst(reference) === argmaxFirst(got)) agree++;
  }
  return {
    model,
    output: imported.argmax ? "argmax" : "logits",
    quantization: {
      calibration_samples: samples.length,
      calibration: calibration && calibration.length > 0 ? "given" : "synthetic",
      relative_error: round(errSum / Math.max(refSum, 1e-12), 6),
      max_abs_error: round(maxAbs, 6),
      argmax_agreement: round(agree / samples.length, 6),
    },
  };
}

/** A directory compiled from the same model into the same circuit (an older emitter's checks may be weaker). */
async function reusable(dir: string, id: string, circuitSource: string): Promise<CircuitManifest | null> {
  const path = join(dir, MANIFEST_FILE);
  if (!existsSync(path)) return null;
  let manifest: CircuitManifest;
  try {
    manifest = await readArtifact(path, CircuitManifest);
  } catch (err) {
    // a manifest of another format is another model id (the format is part of it): compiled anew
    if (isProofgateError(err, "invalid_argument")) return null;
    throw err;
  }
  if (manifest.model_id !== id) return null;
  if (!Object.values(manifest.files).every((f) => existsSync(join(dir, f)))) return null;
  return (await readFile(join(dir, manifest.files.circom), "utf8")) === circuitSource ? manifest : null;
}

/**
 * For each signal the constraint program keeps, its index in the witness program, matched by name
 * (little-endian uint32 per signal, in constraint-program order).
 */
async function buildWitnessMap(constraintSym: string, witnessSym: string): Promise<Uint8Array> {
  const [kept, all] = await Promise.all([loadSymbols(constraintSym), loadSymbols(witnessSym)]);
  const map = new Uint32Array(Math.max(0, ...kept.values()) + 1);
  for (const [name, index] of kept) {
    const at = all.get(name);
    if (at === undefined) throw new Error(`internal: signal ${name} has no value in the witness program`);
    map[index] = at;
  }
  return new Uint8Array(map.buffer);
}

export async function compileModel(options: CompileOptions): Promise<CompileResult> {
  const phase = options.onPhase ?? (() => {});
  const dir = resolve(options.outDir);
  phase("quantize");
  const { model, output, quantization } = prepareModel(options.onnx, options.calibration);
  const id = modelId(model, output);
  const modelIdField = BigInt(`0x${id}`) >> 8n;
  phase("emit");
  const emitted = emitCircuit(model, { modelIdField, output });
  const existing = await reusable(dir, id, emitted.constraintSource);
  if (existing) return { manifest: existing, dir, reused: true };

  const ptau = options.ptau ?? ptauFromEnvironment() ?? DEFAULT_PTAU;
  if (!existsSync(ptau))
    throw new Error(`powers of tau file not found: ${ptau} (run proofgate ceremony, or set PROOFGATE_PTAU)`);
  const files = {
    onnx: "model.onnx",
    r1cs: "circuit.r1cs",
    wasm: "witness.wasm",
    witness_map: "witness.map",
    zkey: "circuit.zkey",
    vkey: "verification_key.json",
    verifier_sol: "Verifier.sol",
    circom: "circuit.circom",
  };
  const scratch = await mkdtemp(join(tmpdir(), "pg-compile-"));
  try {
    // full linear simplification for the constraints (it removes the linear constraints of Poseidon's
    // mixing and of every bit decomposition) unless the pinned layers are so large that it would take
    // many minutes; none for the witness program, so that every signal the constraints keep has a
    // value there under the same name
    const optimization = emitted.pinnedTerms <= O2_TERM_LIMIT ? "O2" : "O1";
    phase(`circom: constraints (--${optimization})`);
    const constraints = await compileCircom({
      source: emitted.constraintSource,
      name: "circuit",
      outDir: join(scratch, "c"),
      targets: ["r1cs", "sym"],
      optimization,
    });
    phase("circom: witness generator");
    const witness = await compileCircom({
      source: emitted.witnessSource,
      name: "witness",
      outDir: join(scratch, "w"),
      targets: ["wasm", "sym"],
      optimization: "O0",
    });
    const witnessMap = await buildWitnessMap(constraints.sym, witness.sym);
    const info = await loadConstraintSystemInfo(constraints.r1cs);
    const needed = Math.ceil(Math.log2(info.nConstraints + info.nPublic + 1));
    const power = await ptauPower(ptau);
    if (needed > power)
      throw new Error(
        `the circuit has ${info.nConstraints} constraints and needs a powers of tau of 2^${needed}; ${ptau} has 2^${power}`,
      );

    // the first contribution of the chain; others add theirs with `proofgate ceremony phase2`
    phase("groth16 phase 2");
    await mkdir(dir, { recursive: true });
    const zkey = join(dir, files.zkey);
    await startPhase2({ r1cs: constraints.r1cs, ptau, out: zkey, name: "proofgate compile", logger: options.logger });
    const verified = await verifyPhase2({ r1cs: constraints.r1cs, ptau, zkey, logger: options.logger });
    if (!verified) throw new Error(`internal: the proving key just made does not verify against ${ptau}`);
    const { vkey, verifierSol: verifier } = await exportKeys(zkey, options.logger);

    phase("write");
    await writeFile(join(dir, files.r1cs), await readFile(constraints.r1cs));
    await writeFile(join(dir, files.wasm), await readFile(witness.wasm));
    await writeFile(join(dir, files.witness_map), witnessMap);
    await writeFile(join(dir, files.circom), emitted.constraintSource);
    await writeFile(join(dir, files.vkey), `${JSON.stringify(vkey, null, 1)}\n`);
    await writeFile(join(dir, files.verifier_sol), verifier);
    const onnxPath = join(dir, files.onnx);
    const integerOnnx = integerModelFromOnnx(options.onnx)
      ? options.onnx
      : integerModelToOnnx(model, `compiled-${id.slice(0, 12)}`, {
          "proofgate.model_id": id,
          "proofgate.task": output === "argmax" ? "classification" : "tensor",
        });
    if (!existsSync(onnxPath) || !(await readFile(onnxPath)).equals(Buffer.from(integerOnnx)))
      await writeFile(onnxPath, integerOnnx);
    const manifest: CircuitManifest = {
      format: CIRCUIT_FORMAT,
      model_id: id,
      model_id_field: modelIdField.toString(),
      kind: emitted.kind,
      output,
      input: model.input,
      classes: model.classes,
      constraints: info.nConstraints,
      public_signals: emitted.publicSignals,
      packing: emitted.packing,
      hints: emitted.hints,
      input_signal: emitted.inputSignal,
      vkey_hash: vkeyHash(vkey),
      ptau: { file: shownPath(ptau), power },
      ...(quantization ? { quantization } : {}),
      files,
    };
    await writeFile(join(dir, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
    await writeSetupTranscript(dir, await makeSetupTranscript({ zkey, ptau, verified, vkeyHash: manifest.vkey_hash }));
    return { manifest, dir, reused: false };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
