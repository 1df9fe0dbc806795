/**
 * `proofgate ceremony`: the phase-1 powers of tau (src/circuit/ceremony.ts), and `ceremony phase2 …`:
 * a compiled model's per-circuit phase 2 with outside contributors and a final beacon (src/circuit/phase2.ts).
 */
import { copyFile, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { loadManifest } from "../model/circuit-manifest.js";
import { consoleSnarkLogger } from "../snark/snark-logger.js";
import { UsageError, type Verb, type VerbArgs } from "./verb.js";

// every command reads the verb table, `serve` too: the setup code loads only when one of these verbs runs
const phase1 = () => import("../circuit/ceremony.js");
const phase2 = () => import("../circuit/phase2.js");

export const ceremony: Verb = {
  path: ["ceremony"],
  usage: "ceremony [--power 15] [--out artifacts/ptau] [--contributions 2] [--verbose]",
  description:
    'Runs a phase-1 powers-of-tau ceremony (bn128) for circuits of up to 2^power constraints and writes the prepared file with a transcript of contribution hashes. 2^15 takes about 15 minutes on 2 cores. For a setup no single party controls, use a public Perpetual Powers of Tau file instead (README, "Trusted setup") and add phase-2 contributions with `ceremony phase2`.',
  options: {
    power: { type: "string", description: "log2 of the largest circuit size (default 15)" },
    out: { type: "string", description: "output folder (default artifacts/ptau)" },
    contributions: { type: "string", description: "number of contributions (default 2)" },
    verbose: { type: "boolean", description: "log every snarkjs phase" },
  },
  async run({ values }) {
    const { runCeremony } = await phase1();
    const power = Number(values.power ?? 15);
    const contributions = Number(values.contributions ?? 2);
    if (!Number.isInteger(power) || power < 8 || power > 28)
      throw new UsageError(`--power must be an integer from 8 to 28, got ${String(values.power)}`);
    if (!Number.isInteger(contributions) || contributions < 1)
      throw new UsageError(`--contributions must be a positive integer, got ${String(values.contributions)}`);
    const transcript = await runCeremony({
      power,
      contributions,
      outDir: resolve(String(values.out ?? "artifacts/ptau")),
      logger: consoleSnarkLogger(values.verbose === true),
    });
    console.log(JSON.stringify(transcript, null, 2));
    return 0;
  },
};

function required(values: VerbArgs["values"], name: string, what: string): string {
  const value = values[name];
  if (typeof value !== "string" || value === "") throw new UsageError(`--${name} <${what}> is required`);
  return value;
}

function noPositionals({ positionals }: VerbArgs): void {
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
}

const verbose = { type: "boolean", description: "log every snarkjs phase" } as const;
const ptauOption = {
  type: "string",
  description: "phase-1 file (default: the one named in the model's circuit.json)",
} as const;
const logger = (values: VerbArgs["values"]) => (values.verbose === true ? consoleSnarkLogger(true) : undefined);
const optionalPtau = (values: VerbArgs["values"]) =>
  typeof values.ptau === "string" ? resolve(values.ptau) : undefined;

export const phase2Export: Verb = {
  path: ["ceremony", "phase2", "export"],
  usage: "ceremony phase2 export --model <dir> --out <file.zkey>",
  description:
    "Copies a compiled model's current proving key for the next contributor, and prints its contributions so far. The contributor needs only this file.",
  options: {
    model: { type: "string", description: "compiled model directory (required)" },
    out: { type: "string", description: "where to write the key (required)" },
  },
  async run(args) {
    const { readPhase2Chain } = await phase2();
    noPositionals(args);
    const dir = required(args.values, "model", "dir");
    const out = required(args.values, "out", "file.zkey");
    const manifest = await loadManifest(dir);
    const zkey = join(dir, manifest.files.zkey);
    const chain = await readPhase2Chain(zkey);
    await copyFile(zkey, out);
    console.log(
      JSON.stringify({ zkey: out, circuit_hash: chain.circuitHash, contributions: chain.contributions }, null, 2),
    );
    return 0;
  },
};

export const phase2Contribute: Verb = {
  path: ["ceremony", "phase2", "contribute"],
  usage: "ceremony phase2 contribute --in <file.zkey> --out <file.zkey> --name <name> [--entropy <text>]",
  description:
    "Adds your contribution to a proving key (what an outside party runs; needs only the key). Mixes the system's randomness with --entropy (random when not given); the secret is never written. Prints the contribution hash to publish: after import it appears in the model's setup.json.",
  options: {
    in: { type: "string", description: "the key you were sent (required)" },
    out: { type: "string", description: "where to write the key with your contribution (required)" },
    name: { type: "string", description: "your name as it will appear in the transcript, at most 64 bytes (required)" },
    entropy: { type: "string", description: "extra entropy (any text); system randomness is always mixed in" },
    verbose,
  },
  async run(args) {
    const { contributePhase2 } = await phase2();
    noPositionals(args);
    const input = required(args.values, "in", "file.zkey");
    const output = required(args.values, "out", "file.zkey");
    const name = required(args.values, "name", "name");
    if (resolve(input) === resolve(output)) throw new UsageError("--out must differ from --in");
    const hash = await contributePhase2({
      input,
      output,
      name,
      entropy: typeof args.values.entropy === "string" ? args.values.entropy : undefined,
      logger: logger(args.values),
    });
    console.log(JSON.stringify({ zkey: output, name, contribution_hash: hash }, null, 2));
    return 0;
  },
};

export const phase2Verify: Verb = {
  path: ["ceremony", "phase2", "verify"],
  usage: "ceremony phase2 verify --model <dir> [--zkey <file.zkey>] [--ptau <file>] [--verbose]",
  description:
    "Verifies a proving key's whole chain of contributions from the model's circuit.r1cs and the phase-1 file (snarkjs zkey verify). Checks the installed key unless --zkey is given. Prints the contributions; exit 0 if valid, 1 if not.",
  options: {
    model: { type: "string", description: "compiled model directory (required)" },
    zkey: { type: "string", description: "the key to check (default: the model's circuit.zkey)" },
    ptau: ptauOption,
    verbose,
  },
  async run(args) {
    const { modelPtau, readPhase2Chain, verifyPhase2 } = await phase2();
    noPositionals(args);
    const dir = required(args.values, "model", "dir");
    const manifest = await loadManifest(dir);
    const zkey = typeof args.values.zkey === "string" ? args.values.zkey : join(dir, manifest.files.zkey);
    const ptau = modelPtau(manifest, optionalPtau(args.values));
    const chain = await readPhase2Chain(zkey);
    const valid = await verifyPhase2({ r1cs: join(dir, manifest.files.r1cs), ptau, zkey, logger: logger(args.values) });
    if (!valid) {
      console.error(`invalid: ${zkey} does not verify against ${join(dir, manifest.files.r1cs)} and ${ptau}`);
      return 1;
    }
    console.log(
      JSON.stringify({ valid, zkey, circuit_hash: chain.circuitHash, contributions: chain.contributions }, null, 2),
    );
    return 0;
  },
};

export const phase2Import: Verb = {
  path: ["ceremony", "phase2", "import"],
  usage: "ceremony phase2 import --model <dir> --zkey <file.zkey> [--ptau <file>] [--verbose]",
  description:
    "Installs a contributed proving key into a compiled model after verifying it (the whole chain, and that it extends the installed one): writes circuit.zkey, verification_key.json, Verifier.sol, the manifest's vkey_hash and setup.json. Rebuild the contracts afterwards for a shipped model.",
  options: {
    model: { type: "string", description: "compiled model directory (required)" },
    zkey: { type: "string", description: "the contributed key (required)" },
    ptau: ptauOption,
    verbose,
  },
  async run(args) {
    const { installPhase2 } = await phase2();
    noPositionals(args);
    const dir = required(args.values, "model", "dir");
    const zkey = required(args.values, "zkey", "file.zkey");
    const transcript = await installPhase2({ dir, zkey, ptau: optionalPtau(args.values), logger: logger(args.values) });
    console.log(JSON.stringify(transcript, null, 2));
    return 0;
  },
};

export const phase2Beacon: Verb = {
  path: ["ceremony", "phase2", "beacon"],
  usage:
    "ceremony phase2 beacon --model <dir> --beacon <hex> --iterations <n> [--source <text>] [--name <name>] [--ptau <file>]",
  description:
    "Ends a model's phase 2 with a public random beacon: a last contribution derived from --beacon (a value nobody could choose in advance, such as a future block hash) by 2^iterations SHA-256 rounds. Verifies and installs it like import; --source (where the value comes from) goes into setup.json.",
  options: {
    model: { type: "string", description: "compiled model directory (required)" },
    beacon: { type: "string", description: "the beacon value, hex, 1 to 255 bytes (required)" },
    iterations: { type: "string", description: "log2 of the hash rounds, 10 to 63 (required)" },
    source: { type: "string", description: "how anyone can recompute the beacon value" },
    name: { type: "string", description: 'the step\'s name in the transcript (default "final beacon")' },
    ptau: ptauOption,
    verbose,
  },
  async run(args) {
    const { beaconPhase2, installPhase2 } = await phase2();
    noPositionals(args);
    const dir = required(args.values, "model", "dir");
    const beacon = required(args.values, "beacon", "hex").replace(/^0x/i, "");
    const iterations = Number(required(args.values, "iterations", "n"));
    if (!Number.isInteger(iterations) || iterations < 10 || iterations > 63)
      throw new UsageError(`--iterations must be an integer from 10 to 63, got ${String(args.values.iterations)}`);
    if (!/^([0-9a-f]{2}){1,255}$/i.test(beacon)) throw new UsageError("--beacon must be 1 to 255 bytes of hex");
    const manifest = await loadManifest(dir);
    const scratch = await mkdtemp(join(tmpdir(), "pg-beacon-"));
    try {
      const out = join(scratch, "beacon.zkey");
      const name = typeof args.values.name === "string" ? args.values.name : "final beacon";
      await beaconPhase2({
        input: join(dir, manifest.files.zkey),
        output: out,
        name,
        beacon,
        iterations,
        logger: logger(args.values),
      });
      const source = typeof args.values.source === "string" ? args.values.source : undefined;
      const transcript = await installPhase2({
        dir,
        zkey: out,
        ptau: optionalPtau(args.values),
        beaconSource: source,
        logger: logger(args.values),
      });
      console.log(JSON.stringify(transcript, null, 2));
      return 0;
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  },
};

export const phase2Verbs: readonly Verb[] = [phase2Export, phase2Contribute, phase2Verify, phase2Import, phase2Beacon];
