/** The model objects of /v1/models, from the served-model registry, and each provable model's setup transcript. */
import { ProofgateError } from "../../core/errors.js";
import { readSetupTranscript, SETUP_FILE, type SetupTranscript } from "../../snark/setup-transcript.js";
import type { ModelRegistry } from "../../model/model-registry.js";
import type { ServedModel } from "../../model/served-model.js";
import type { ModelList, ModelObject } from "./protocol.js";

export function toModelObject(model: ServedModel): ModelObject {
  return {
    id: model.id,
    object: "model",
    created: model.created,
    owned_by: "proofgate",
    provable: model.provable,
    device: model.device,
    task: model.task,
    context_length: model.kind === "language" ? model.contextLength : null,
    input: { name: model.input.name, type: model.input.type, shape: [...model.input.shape] },
    summary: model.summary,
  };
}

export class ModelsService {
  constructor(private readonly registry: ModelRegistry) {}

  list(): ModelList {
    return { object: "list", data: this.registry.list().map(toModelObject) };
  }

  get(id: string): ModelObject {
    return toModelObject(this.registry.get(id, "id"));
  }

  has(id: string): boolean {
    return this.registry.list().some((m) => m.id === id);
  }

  /** The model's setup.json, read (and validated) on each request: `ceremony phase2 import` may replace it while serving. */
  async setup(id: string): Promise<SetupTranscript> {
    const model = this.registry.get(id, "id");
    const transcript = model.circuit ? await readSetupTranscript(model.dir) : null;
    if (!transcript)
      throw new ProofgateError("not_found", `The model \`${id}\` has no trusted setup transcript (${SETUP_FILE})`, {
        param: "id",
      });
    return transcript;
  }
}
