/** The model objects of /v1/models, from the served-model registry. */
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
}
