/** `proofgate compile`: ONNX → integer-exact model, circuit, keys and Solidity verifier (src/circuit/compile.ts). */
import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { z } from "zod";
import { SETUP_FILE } from "../snark/setup-transcript.js";
import { consoleSnarkLogger } from "../snark/snark-logger.js";
import { readInputFile, Sample, UsageError, type Verb } from "./verb.js";

export const compile: Verb = {
  path: ["compile"],
  usage: "compile <model.onnx> --out <dir> [--calibration <inputs.json>] [--ptau <file>] [--verbose]",
  description:
    "Compiles an ONNX model (the project's integer-exact graphs, or float models as PyTorch or TensorFlow export them, quantized here) into a Groth16 circuit with its keys and Solidity verifier. Prints one JSON object. A directory already holding the same model id is reused.",
  options: {
    out: { type: "string", description: "output directory (required)" },
    calibration: {
      type: "string",
      description: 'JSON file {"inputs": [sample, ...]} used to choose quantization scales',
    },
    ptau: {
      type: "string",
      description: "phase-1 powers of tau (default artifacts/ptau/pot15_final.ptau or $PROOFGATE_PTAU)",
    },
    verbose: { type: "boolean", description: "log compiler and snarkjs phases" },
  },
  async run({ positionals, values }) {
    if (positionals.length !== 1) throw new UsageError("expects exactly one <model.onnx>");
    if (typeof values.out !== "string") throw new UsageError("--out <dir> is required");
    let calibration: number[][] | undefined;
    if (typeof values.calibration === "string") {
      calibration = (await readInputFile(values.calibration, z.object({ inputs: z.array(Sample) }))).inputs;
    }
    const verbose = values.verbose === true;
    // loaded here, not at the top: every command reads the verb table, `serve` too
    const { compileModel } = await import("../circuit/compile.js");
    const { manifest, dir, reused } = await compileModel({
      onnx: await readFile(positionals[0]),
      outDir: values.out,
      calibration,
      ptau: typeof values.ptau === "string" ? resolve(values.ptau) : undefined,
      logger: verbose ? consoleSnarkLogger(true) : undefined,
      onPhase: (phase) => process.stderr.write(`compile: ${phase}\n`),
    });
    const path = (f: string) => join(dir, f);
    console.log(
      JSON.stringify(
        {
          model_id: manifest.model_id,
          reused,
          kind: manifest.kind,
          constraints: manifest.constraints,
          public_signals: manifest.public_signals.length,
          public_signal_layout: manifest.public_signals,
          vkey_hash: manifest.vkey_hash,
          quantization_error: manifest.quantization ?? null,
          onnx: path(manifest.files.onnx),
          r1cs: path(manifest.files.r1cs),
          wasm: path(manifest.files.wasm),
          zkey: path(manifest.files.zkey),
          vkey: path(manifest.files.vkey),
          verifier_sol: path(manifest.files.verifier_sol),
          circom: path(manifest.files.circom),
          setup: path(SETUP_FILE),
        },
        null,
        2,
      ),
    );
    return 0;
  },
};
