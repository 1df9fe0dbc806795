/**
 * Finds the compiled model directory for a model id among the served ones: every directory under
 * artifacts/models/ and those listed in $PROOFGATE_MODELS.
 */
import { existsSync } from "node:fs";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { MANIFEST_FILE } from "../circuit/compile.js";
import { loadManifest } from "./compiled-model.js";

export async function compiledModelDirs(modelsRoot = "artifacts/models", extra = process.env.PROOFGATE_MODELS ?? ""): Promise<string[]> {
  const dirs = existsSync(modelsRoot) ? (await readdir(modelsRoot)).map((d) => join(modelsRoot, d)) : [];
  dirs.push(...extra.split(",").map((d) => d.trim()).filter(Boolean));
  return dirs.filter((d) => existsSync(join(d, MANIFEST_FILE)));
}

export async function findCompiledModel(modelId: string): Promise<string | null> {
  for (const dir of await compiledModelDirs()) if ((await loadManifest(dir)).model_id === modelId) return dir;
  return null;
}
