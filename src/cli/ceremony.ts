/** `proofgate ceremony`: the phase-1 powers of tau, made once and committed (see src/circuit/ceremony.ts). */
import { resolve } from "node:path";
import { runCeremony } from "../circuit/ceremony.js";
import { consoleSnarkLogger } from "../circuit/snark-logger.js";
import { UsageError, type Verb } from "./verb.js";

export const ceremony: Verb = {
  path: ["ceremony"],
  usage: "ceremony [--power 15] [--out artifacts/ptau] [--contributions 2] [--verbose]",
  description: "Runs a phase-1 powers-of-tau ceremony (bn128) for circuits of up to 2^power constraints and writes the prepared file with a transcript of contribution hashes. 2^15 takes about 15 minutes on 2 cores.",
  options: {
    power: { type: "string", description: "log2 of the largest circuit size (default 15)" },
    out: { type: "string", description: "output folder (default artifacts/ptau)" },
    contributions: { type: "string", description: "number of contributions (default 2)" },
    verbose: { type: "boolean", description: "log every snarkjs phase" },
  },
  async run({ values }) {
    const power = Number(values.power ?? 15);
    const contributions = Number(values.contributions ?? 2);
    if (!Number.isInteger(power) || power < 8 || power > 28) throw new UsageError(`--power must be an integer from 8 to 28, got ${String(values.power)}`);
    if (!Number.isInteger(contributions) || contributions < 1) throw new UsageError(`--contributions must be a positive integer, got ${String(values.contributions)}`);
    const transcript = await runCeremony({ power, contributions, outDir: resolve(String(values.out ?? "artifacts/ptau")), logger: consoleSnarkLogger(values.verbose === true) });
    console.log(JSON.stringify(transcript, null, 2));
    return 0;
  },
};
