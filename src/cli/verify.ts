/** `proofgate verify`: exit 0 for a valid proof file, 1 for an invalid one, with a one-line reason. */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { loadManifest } from "../prover/compiled-model.js";
import { CompiledCatalog } from "../prover/compiled-catalog.js";
import { loadConfig } from "../config/config.js";
import type { ProofFile } from "../prover/prove.js";
import { verifyProof } from "../prover/verify.js";
import { UsageError, type Verb } from "./verb.js";

export const verifyVerb: Verb = {
  path: ["verify"],
  usage: "verify <proof.json> [--model <dir>]",
  description: "Verifies a proof file against its model's verification key (found by model id among the served models, or given with --model). Exit 0 if valid, 1 if not, with a one-line reason.",
  options: { model: { type: "string", description: "compiled model directory holding the verification key" } },
  async run({ positionals, values }) {
    if (positionals.length !== 1) throw new UsageError("expects exactly one <proof.json>");
    const file = JSON.parse(await readFile(positionals[0], "utf8")) as ProofFile;
    if (typeof file.model_id !== "string" || !file.proof || !Array.isArray(file.public_signals)) throw new UsageError(`${positionals[0]} is not a proofgate proof file`);
    const dir = typeof values.model === "string" ? values.model : (await CompiledCatalog.open(servedModelFolders())).dir(file.model_id);
    if (!dir) {
      console.error(`invalid: no compiled model with id ${file.model_id} (pass --model <dir>)`);
      return 1;
    }
    const manifest = await loadManifest(dir);
    const vkey = JSON.parse(await readFile(join(dir, manifest.files.vkey), "utf8")) as Record<string, unknown>;
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
