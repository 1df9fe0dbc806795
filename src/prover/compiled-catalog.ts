/**
 * The compiled models a prover can use, found by circuit model id: every model folder with a
 * `circuit.json` under the model roots and in the listed folders. A worker on another machine proves a
 * record only if it has the very circuit the record names; each model is loaded once, on first use.
 */
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { loadManifest, MANIFEST_FILE, type CircuitManifest } from "../model/circuit-manifest.js";
import { loadCompiledModel, type CompiledModel } from "./compiled-model.js";

export interface CompiledCatalogOptions {
  /** Folders whose subfolders are model folders. */
  readonly roots: readonly string[];
  /** Model folders taken as they are. */
  readonly dirs: readonly string[];
}

export class CompiledCatalog {
  private readonly loaded = new Map<string, Promise<CompiledModel>>();

  private constructor(
    private readonly manifests: ReadonlyMap<string, { readonly dir: string; readonly manifest: CircuitManifest }>,
  ) {}

  static async open(options: CompiledCatalogOptions): Promise<CompiledCatalog> {
    const dirs = [
      ...options.roots.flatMap((root) =>
        existsSync(root)
          ? readdirSync(root)
              .sort()
              .map((d) => join(root, d))
          : [],
      ),
      ...options.dirs,
    ];
    const manifests = new Map<string, { dir: string; manifest: CircuitManifest }>();
    for (const dir of dirs.filter((d) => existsSync(join(d, MANIFEST_FILE)))) {
      const manifest = await loadManifest(dir);
      if (!manifests.has(manifest.model_id)) manifests.set(manifest.model_id, { dir, manifest });
    }
    return new CompiledCatalog(manifests);
  }

  /** Circuit model ids this catalog can prove. */
  get modelIds(): string[] {
    return [...this.manifests.keys()];
  }

  /** The folder holding that circuit, or null. */
  dir(modelId: string): string | null {
    return this.manifests.get(modelId)?.dir ?? null;
  }

  manifest(modelId: string): CircuitManifest | null {
    return this.manifests.get(modelId)?.manifest ?? null;
  }

  /** The loaded model, or null when no folder here holds that circuit. */
  async get(modelId: string): Promise<CompiledModel | null> {
    const entry = this.manifests.get(modelId);
    if (!entry) return null;
    let model = this.loaded.get(modelId);
    if (!model) {
      model = loadCompiledModel(entry.dir);
      this.loaded.set(modelId, model);
      // a failed load is retried next time rather than cached
      model.catch(() => this.loaded.delete(modelId));
    }
    return model;
  }
}
