/** `proofgate verify`: exit 0 for a valid proof file, 1 for an invalid one, with a one-line reason. */
import { join } from "node:path";
import { readArtifact } from "../core/read-artifact.js";
import { loadManifest, VerificationKeyFile } from "../model/circuit-manifest.js";
import { CompiledCatalog } from "../prover/compiled-catalog.js";
import { loadConfig } from "../config/config.js";
import { ProofFile } from "../prover/prove.js";
import { verifyProof } from "../prover/verify.js";
import { readInputFile, UsageError, type Verb } from "./verb.js";

/** A proof file as a verifier takes it: without timings too (a file exported by the explorer has none). */
const ProofFileInput = ProofFile.partial({ timings: true });

export const verifyVerb: Verb = {
  path: ["verify"],
  usage: "verify <proof.json> [--model <dir>]",
  description:
    "Verifies a proof file against its model's verification key (found by model id among the served models, or given with --model): " +
    "the Groth16 proof, the file's vkey_hash against the key's, and every claim (input, nonce, output) against what the public signals say. " +
    "Exit 0 if valid, 1 if not, with a one-line reason; a valid verdict names the vkey hash it was checked under.",
  options: { model: { type: "string", description: "compiled model directory holding the verification key" } },
  async run({ positionals, values }) {
    if (positionals.length !== 1) throw new UsageError("expects exactly one <proof.json>");
    const file = await readInputFile(positionals[0], ProofFileInput);
    const dir =
      typeof values.model === "string"
        ? values.model
        : (await CompiledCatalog.open(servedModelFolders())).dir(file.model_id);
    if (!dir) {
      console.error(`invalid: no compiled model with id ${file.model_id} (pass --model <dir>)`);
      return 1;
    }
    const manifest = await loadManifest(dir);
    const vkey = await readArtifact(join(dir, manifest.files.vkey), VerificationKeyFile);
    const result = await verifyProof(manifest, vkey, file);
    (result.valid ? console.log : console.error)(result.valid ? result.reason : `invalid: ${result.reason}`);
    return result.valid ? 0 : 1;
  },
};

/** Where `serve` finds models: artifacts/models and $PROOFGATE_MODELS. */
function servedModelFolders(): { roots: readonly string[]; dirs: readonly string[] } {
  const config = loadConfig();
  return { roots: config.modelRoots, dirs: config.modelDirs };
}
