/**
 * The served models: every model folder under the model roots plus the listed folders, loaded once at
 * startup on one device. Until `load` finishes the registry is not ready (the gateway answers 503).
 */
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import type { DeviceChoice } from "../config/config.js";
import { ProofgateError } from "../core/errors.js";
import { sleep } from "../core/sleep.js";
import type { EngineObserver } from "./engine-observer.js";
import { selectDevice, type Device, type DeviceSelection } from "./execution-device.js";
import { loadServedModel, type ServedModel } from "./served-model.js";

export interface ModelRegistryOptions {
  /** Folders whose subfolders holding a model.onnx are models. */
  readonly roots: readonly string[];
  /** Model folders served as they are. */
  readonly dirs: readonly string[];
  readonly device: DeviceChoice;
  /** Most sequences per batched step and model; null = DEFAULT_MAX_BATCH of the device picked. */
  readonly maxBatchSize: number | null;
  readonly maxWaiting: number;
  readonly observer?: EngineObserver;
  readonly warn?: (message: string) => void;
}

/**
 * Batch size by device when PROOFGATE_MAX_BATCH is not set. The batcher runs every active sequence in
 * one step (no wait window: a sequence that arrives mid-step joins the next one, at most one step
 * later, and a window would only delay the steps of those already there), so this is the most
 * sequences decoded at once; more wait for a slot.
 * - CPU 64, as before devices had their own: pg-teacher's step time grows about linearly with its rows
 *   beyond a few dozen (2 cores: ~1.2 ms at 32 rows, 2.3–2.9 at 64, 4.5–5.9 at 128), so a larger batch
 *   adds time between tokens, not tokens/s. bench/gpu at concurrency 128, three runs each, batch 64 vs
 *   128: pg-teacher 22–25k vs 23–26k tokens/s, pg-student 186–240k vs 193–273k: within the noise.
 * - CUDA 256: a step of models this small costs about the same from 1 to a few hundred rows (launch and
 *   transfer bound: the far larger 1024→4096→4096→1024 MLP of ../shared/gpu/README.md ran batch 256 in
 *   0.65–0.9 ms on an H100), so tokens/s grows with every sequence admitted. Not yet measured with
 *   these models: bench/gpu does, at concurrency 1 to 128, when run on a GPU machine.
 */
export const DEFAULT_MAX_BATCH: Readonly<Record<Device, number>> = { cpu: 64, cuda: 256 };

export class ModelRegistry {
  private readonly models = new Map<string, ServedModel>();
  private state: "loading" | "ready" | "failed" = "loading";
  private selection: DeviceSelection | null = null;
  private batchSize: number | null = null;

  constructor(private readonly options: ModelRegistryOptions) {}

  get ready(): boolean {
    return this.state === "ready";
  }

  /** The device models run on, once known. */
  get device(): Device | null {
    return this.selection?.device ?? null;
  }

  /** How the device was picked (and why `auto` fell back to CPU), once known. */
  get deviceSelection(): DeviceSelection | null {
    return this.selection;
  }

  /** Sequences per batched step of each language model, once the device is known. */
  get maxBatchSize(): number | null {
    return this.batchSize;
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
      const selection = await selectDevice({
        choice: this.options.device,
        probeModelPath: join(dirs[0]!, "model.onnx"),
        warn: this.options.warn,
      });
      const { device } = selection;
      const maxBatchSize = this.options.maxBatchSize ?? DEFAULT_MAX_BATCH[device];
      this.selection = selection;
      this.batchSize = maxBatchSize;
      this.options.observer?.deviceSelected?.(selection, maxBatchSize);
      for (const dir of dirs) {
        const model = await loadServedModel({
          dir,
          device,
          maxBatchSize,
          maxWaiting: this.options.maxWaiting,
          observer: this.options.observer,
        });
        if (this.models.has(model.id))
          throw new Error(`model id ${model.id} is served twice (${this.models.get(model.id)!.dir} and ${dir})`);
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
    while (busy() && Date.now() < deadline) await sleep(20);
    for (const model of this.models.values()) await model.session.release();
    this.models.clear();
  }
}
