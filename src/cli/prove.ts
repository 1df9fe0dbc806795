/** `proofgate prove`: one proof, offline (src/prover/prove.ts). */
import { writeFile } from "node:fs/promises";
import { z } from "zod";
import { checkIntegerInput } from "../model/integer-model.js";
import { quantizeInput } from "../model/quantize.js";
import { consoleSnarkLogger } from "../snark/snark-logger.js";
import { loadCompiledModel } from "../prover/compiled-model.js";
import { prove } from "../prover/prove.js";
import { readInputFile, Sample, UsageError, type Verb } from "./verb.js";

export const proveVerb: Verb = {
  path: ["prove"],
  usage: "prove --model <dir> --input <input.json> --out <proof.json> [--nonce <n>] [--verbose]",
  description:
    'Proves one inference of a compiled model. input.json is {"input": [...]}: one sample shaped as the ONNX input without the batch dimension, values as the original model takes them. The proof file holds the proof, the public signals, the output and the model id.',
  options: {
    model: { type: "string", description: "compiled model directory" },
    input: { type: "string", description: "input JSON file" },
    out: { type: "string", description: "where to write the proof JSON" },
    nonce: { type: "string", description: "request nonce (default: 64 random bits)" },
    verbose: { type: "boolean", description: "log snarkjs phases" },
  },
  async run({ values }) {
    for (const name of ["model", "input", "out"])
      if (typeof values[name] !== "string") throw new UsageError(`--${name} is required`);
    const compiled = await loadCompiledModel(String(values.model));
    const raw = (await readInputFile(String(values.input), z.object({ input: Sample }))).input;
    const input = compiled.model.input;
    const sample = input.kind === "int" ? quantizeInput(input, raw) : raw;
    const reason = checkIntegerInput(input, input.kind === "int" ? sample : raw);
    if (reason || raw.some((v) => typeof v !== "number" || !Number.isFinite(v)))
      throw new UsageError(reason ?? "input values must be finite numbers");
    let nonce: bigint | undefined;
    if (values.nonce !== undefined) {
      try {
        nonce = BigInt(String(values.nonce));
      } catch {
        throw new UsageError(`--nonce must be an integer, got ${String(values.nonce)}`);
      }
    }
    const proof = await prove(compiled, {
      sample,
      nonce,
      logger: values.verbose ? consoleSnarkLogger(true) : undefined,
    });
    await writeFile(String(values.out), `${JSON.stringify(proof, null, 1)}\n`);
    console.log(
      JSON.stringify({
        model_id: proof.model_id,
        output: proof.output,
        public_signals: proof.public_signals,
        timings: proof.timings,
        out: values.out,
      }),
    );
    return 0;
  },
};
