/** `proofgate verify`: exit 0 for a valid proof file, 1 for an invalid one, with a one-line reason. */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { loadManifest } from "../model/circuit-manifest.js";
import { CompiledCatalog } from "../prover/compiled-catalog.js";
import { loadConfig } from "../config/config.js";
import type { ProofFile } from "../prover/prove.js";
import { verifyProof } from "../prover/verify.js";
import { UsageError, type Verb } from "./verb.js";

/** The shape of a proof file; what its values say is verifyProof's to check. */
const ProofFileJson = z.object({
  object: z.literal("proofgate.proof"),
  model_id: z.string(),
  vkey_hash: z.string(),
  kind: z.string(),
  input: z.array(z.number()),
  nonce: z.string(),
  output: z.union([z.number(), z.array(z.number())]),
  public_signals: z.array(z.string()),
  proof: z.looseObject({}),
  timings: z.object({ witness_ms: z.number(), prove_ms: z.number() }).optional(),
  request: z.object({ content_hash: z.string(), salt: z.string() }).optional(),
});

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
    let json: unknown;
    try {
      json = JSON.parse(await readFile(positionals[0], "utf8"));
    } catch (err) {
      throw new UsageError(`${positionals[0]} is not readable JSON (${(err as Error).message})`);
    }
    const parsed = ProofFileJson.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new UsageError(`${positionals[0]} is not a proofgate proof file (${issue.path.join(".") || "file"}: ${issue.message})`);
    }
    const file = parsed.data as unknown as ProofFile;
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
