/**
 * The project's contracts, compiled: every source under contracts/ (the generated built-in registry
 * included) and the snarkjs verifier of each shipped circuit. `make contracts` regenerates the
 * registry from artifacts/models, writes artifacts/contracts/contracts.json and the typed bindings
 * (src/chain/contract-bindings.ts); at start the gateway
 * loads that file, or compiles in memory when the sources have changed since it was written.
 */
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { dirname, join, relative } from "node:path";
import { z } from "zod";
import { PROJECT_ROOT } from "../config/project.js";
import { readArtifact, readArtifactSync } from "../core/read-artifact.js";
import { CircuitManifest, MANIFEST_FILE, VerificationKeyFile } from "../model/circuit-manifest.js";
import { writeBindings } from "./contract-bindings.js";
import { poseidonSolidity } from "./poseidon-contract.js";
import { builtInRegistrySource, type BuiltInCircuit } from "./registry-source.js";
import { CompiledContract, compileSolidity, SOLC_SETTINGS, solcVersion } from "./solidity.js";

export const CONTRACTS_DIR = join(PROJECT_ROOT, "contracts");
export const GENERATED_DIR = join(CONTRACTS_DIR, "generated");
export const CONTRACTS_ARTIFACT = join(PROJECT_ROOT, "artifacts", "contracts", "contracts.json");
const SHIPPED_MODELS = join(PROJECT_ROOT, "artifacts", "models");

export const ContractsArtifact = z.object({
  solc: z.string(),
  /** SOLC_SETTINGS when the file was written. */
  settings: z.object({
    optimizer: z.object({ enabled: z.boolean(), runs: z.int() }),
    viaIR: z.boolean(),
    evmVersion: z.string(),
  }),
  /** sha256 over the sources, path by path: what decides whether this file is current. */
  sources_sha256: z.string(),
  contracts: z.record(z.string(), CompiledContract),
});
export type ContractsArtifact = z.infer<typeof ContractsArtifact>;

function solidityFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((e) =>
      e.isDirectory() ? solidityFiles(join(dir, e.name)) : e.name.endsWith(".sol") ? [join(dir, e.name)] : [],
    )
    .sort();
}

/** The shipped circuits, in folder order: what the built-in registry embeds. */
export function shippedCircuits(root = SHIPPED_MODELS): (BuiltInCircuit & { dir: string })[] {
  return readdirSync(root)
    .sort()
    .map((name) => join(root, name))
    .filter((dir) => existsSync(join(dir, MANIFEST_FILE)))
    .map((dir) => {
      const manifest = readArtifactSync(join(dir, MANIFEST_FILE), CircuitManifest);
      return { dir, manifest, vkey: readArtifactSync(join(dir, manifest.files.vkey), VerificationKeyFile) };
    });
}

/** Source path (relative to the project, as imports name it) → text. */
export function contractSources(): Record<string, string> {
  const sources: Record<string, string> = {};
  for (const file of solidityFiles(CONTRACTS_DIR)) sources[relative(PROJECT_ROOT, file)] = readFileSync(file, "utf8");
  for (const { dir, manifest } of shippedCircuits())
    sources[relative(PROJECT_ROOT, join(dir, manifest.files.verifier_sol))] = readFileSync(
      join(dir, manifest.files.verifier_sol),
      "utf8",
    );
  return sources;
}

export function sourcesHash(sources: Record<string, string>): string {
  const h = createHash("sha256");
  for (const path of Object.keys(sources).sort()) h.update(`${path}\0${sources[path]}\0`);
  return h.digest("hex");
}

/**
 * Inputs of the Poseidon hash a contract recomputes for an input commitment of this circuit:
 * model field, nonce, packed input words. Null for decoding steps (their state is not hashed) and for
 * inputs too long for one Poseidon call (the commitment then chains several).
 */
export function commitmentHashInputs(manifest: CircuitManifest): number | null {
  const p = manifest.packing;
  if (p.kind === "token-step") return null;
  const inputs = 2 + p.words;
  return inputs <= 16 ? inputs : null;
}

/** Rewrites contracts/generated/ (the registry, the Poseidon hashers), compiles everything, writes the artifact and the bindings. */
export async function buildContracts(): Promise<ContractsArtifact> {
  const circuits = shippedCircuits();
  await rm(GENERATED_DIR, { recursive: true, force: true });
  await mkdir(GENERATED_DIR, { recursive: true });
  await writeFile(join(GENERATED_DIR, "ProofgateRegistry.sol"), builtInRegistrySource(circuits));
  const arities = new Set(circuits.map((c) => commitmentHashInputs(c.manifest)).filter((n): n is number => n !== null));
  for (const n of arities) await writeFile(join(GENERATED_DIR, `PoseidonT${n + 1}.sol`), poseidonSolidity(n));
  const sources = contractSources();
  const artifact: ContractsArtifact = {
    solc: solcVersion(),
    settings: SOLC_SETTINGS,
    sources_sha256: sourcesHash(sources),
    contracts: compileSolidity(sources),
  };
  await mkdir(dirname(CONTRACTS_ARTIFACT), { recursive: true });
  await writeFile(CONTRACTS_ARTIFACT, `${JSON.stringify(artifact, null, 1)}\n`);
  await writeBindings(artifact, sources);
  return artifact;
}

/** The compiled contracts: the committed artifact when it matches the sources, else compiled now. */
export async function loadContracts(): Promise<ContractsArtifact> {
  const sources = contractSources();
  const hash = sourcesHash(sources);
  if (existsSync(CONTRACTS_ARTIFACT)) {
    const artifact = await readArtifact(CONTRACTS_ARTIFACT, ContractsArtifact);
    if (artifact.sources_sha256 === hash) return artifact;
  }
  return { solc: solcVersion(), settings: SOLC_SETTINGS, sources_sha256: hash, contracts: compileSolidity(sources) };
}

export function contract(artifact: ContractsArtifact, name: string): CompiledContract {
  const found = artifact.contracts[name];
  if (!found) throw new Error(`no compiled contract ${name}`);
  return found;
}
