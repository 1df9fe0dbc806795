/**
 * The served models: every model folder under the model roots plus the listed folders, loaded once at
 * startup on one device. Until `load` finishes the registry is not ready (the gateway answers 503).
 */
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import type { DeviceChoice } from "../config/config.js";
import { ProofgateError } from "../core/errors.js";
import type { EngineObserver } from "./engine-observer.js";
import { resolveDevice, type Device } from "./execution-device.js";
import { loadServedModel, type ServedModel } from "./served-model.js";

export interface ModelRegistryOptions {
  /** Folders whose subfolders holding a model.onnx are models. */
  readonly roots: readonly string[];
  /** Model folders served as they are. */
  readonly dirs: readonly string[];
  readonly device: DeviceChoice;
  readonly maxBatchSize: number;
  readonly maxWaiting: number;
  readonly observer?: EngineObserver;
  readonly warn?: (message: string) => void;
}

export class ModelRegistry {
  private readonly models = new Map<string, ServedModel>();
  private state: "loading" | "ready" | "failed" = "loading";
  private resolvedDevice: Device | null = null;

  constructor(private readonly options: ModelRegistryOptions) {}

  get ready(): boolean {
    return this.state === "ready";
  }

  /** The device models run on, once known. */
  get device(): Device | null {
    return this.resolvedDevice;
  }

  /** Model folders to load: the roots' model subfolders, then the listed folders. */
  modelDirs(): string[] {
    const found: string[] = [];
    for (const root of this.options.roots) {
      if (!existsSync(root)) continue;
      for (const entry of readdirSync(root, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
        if (entry.isDirectory() && existsSync(join(root, entry.name, "model.onnx"))) found.push(join(root, entry.name));
      }
    }
    return [...found, ...this.options.dirs];
  }

  async load(): Promise<void> {
    try {
      const dirs = this.modelDirs();
      if (dirs.length === 0) throw new Error(`no models found in ${this.options.roots.join(", ")} or PROOFGATE_MODELS`);
      const device = await resolveDevice({ choice: this.options.device, probeModelPath: join(dirs[0]!, "model.onnx"), warn: this.options.warn });
      this.resolvedDevice = device;
      for (const dir of dirs) {
        const model = await loadServedModel({ dir, device, maxBatchSize: this.options.maxBatchSize, maxWaiting: this.options.maxWaiting, observer: this.options.observer });
        if (this.models.has(model.id)) throw new Error(`model id ${model.id} is served twice (${this.models.get(model.id)!.dir} and ${dir})`);
        this.models.set(model.id, model);
      }
      this.state = "ready";
    } catch (err) {
      this.state = "failed";
      throw err;
    }
  }

  list(): ServedModel[] {
    return [...this.models.values()];
  }

  /** The model, or a `model_not_found` error naming `param`. */
  get(id: string, param = "model"): ServedModel {
    const model = this.models.get(id);
    if (!model) throw new ProofgateError("model_not_found", `The model \`${id}\` does not exist`, { param });
    return model;
  }

  /** Waits (up to `graceMs`) for running generations to end, then releases every session. */
  async close(graceMs = 5000): Promise<void> {
    const deadline = Date.now() + graceMs;
    const busy = (): boolean => this.list().some((m) => m.kind === "language" && m.batcher.busy);
    while (busy() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    for (const model of this.models.values()) await model.session.release();
    this.models.clear();
  }
}
