/** Looks up the language model a chat or completions request names, or says why it cannot serve it. */
import { ProofgateError } from "../core/errors.js";
import type { ModelRegistry } from "../model/model-registry.js";
import type { LanguageModel } from "../model/served-model.js";

export function findLanguageModel(registry: ModelRegistry, id: string, endpoint: string): LanguageModel {
  const model = registry.get(id);
  if (model.kind !== "language") {
    throw new ProofgateError(
      "unsupported_model",
      `The model \`${id}\` is a ${model.task} model and does not support ${endpoint}; use /v1/inferences`,
      { param: "model" },
    );
  }
  return model;
}
