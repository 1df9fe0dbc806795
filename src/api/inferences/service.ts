/** POST /v1/inferences: one sample through any served model, with its output in wire form. */
import { newId } from "../../core/ids.js";
import type { ModelRegistry } from "../../model/model-registry.js";
import { runInference, type InferenceResult } from "../../model/model-inference.js";
import type { ServedModel } from "../../model/served-model.js";
import type { ProofScheduler } from "../../prover/proof-scheduler.js";
import { submitAsked } from "../generation-proof.js";
import type { Inference, InferenceRequest } from "./protocol.js";

export const DEFAULT_TOP_TOKENS = 5;

function toWireOutput(model: ServedModel, result: InferenceResult): Inference["output"] {
  if (result.kind === "tensor") return result.outputs as Inference["output"];
  if (result.kind === "classification") {
    const labels = model.kind === "classifier" ? model.labels : [];
    const name = (i: number): string => labels[i] ?? String(i);
    return {
      label: name(result.labelId),
      label_id: result.labelId,
      probabilities: Object.fromEntries(result.probabilities.map((p, i) => [name(i), p])),
      logits: [...result.logits],
    };
  }
  const tokenizer = model.kind === "language" ? model.tokenizer : null;
  const token = (id: number, logprob: number) => ({ id, text: tokenizer ? tokenizer.decode([id]) : "", logprob });
  return {
    next_token: token(result.next.id, result.next.logprob),
    top_tokens: result.next.top.map((t) => token(t.id, t.logprob)),
    context_tokens: result.contextTokens,
  };
}

export interface InferencesServiceDeps {
  readonly registry: ModelRegistry;
  /** Records and enqueues proofs; absent = nothing is proven. */
  readonly proofs?: ProofScheduler | null;
}

const ENDPOINT = "/v1/inferences";

export class InferencesService {
  constructor(private readonly deps: InferencesServiceDeps) {}

  async infer(request: InferenceRequest): Promise<Inference> {
    const model = this.deps.registry.get(request.model);
    const result = await runInference({ model, input: request.input, topTokens: request.top_tokens ?? DEFAULT_TOP_TOKENS, param: "input" });
    const output = toWireOutput(model, result);
    const inference: Inference = { id: newId("inf"), object: "inference", created: Math.floor(Date.now() / 1000), model: model.id, output };
    const { proofs } = this.deps;
    if (!proofs || !model.provable || !model.circuit || !result.integerRun || request.proof === false) return inference;
    const { sample, argmax, logits } = result.integerRun;
    const proof = await proofs.scheduleInference({
      id: newId("proof"),
      model: model.id,
      circuit: { modelId: model.circuit.model_id, vkeyHash: model.circuit.vkey_hash },
      endpoint: ENDPOINT,
      input: request.input,
      sample,
      served: { argmax, logits },
      output,
      submitAsked: submitAsked(request.proof),
    });
    return { ...inference, proof };
  }
}
