/** POST /v1/inferences: one sample through any served model, with its output in wire form. */
import { checkPromptChars } from "../request-validation.js";
import { ProofgateError } from "../../core/errors.js";
import { newId } from "../../core/ids.js";
import { generationContentHash, sampleContentHash, textContentHash } from "../../core/request-binding.js";
import type { ModelRegistry } from "../../model/model-registry.js";
import { runInference, type InferenceResult } from "../../model/model-inference.js";
import type { ServedModel } from "../../model/served-model.js";
import { nonceBitsOf, type ProofScheduler } from "../../prover/proof-scheduler.js";
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

/**
 * What a proof of this inference is about, as a contract holding the request would hash it: a
 * classifier's text exactly as the featurizer got it (MessageBoard hashes the bytes it posts), a
 * language model's next token as a one-token generation of the whole prompt, else the integer sample.
 */
function requestContentHash(model: ServedModel, input: InferenceRequest["input"], sample: readonly number[]): string {
  if (typeof input === "string") {
    // a lone surrogate has no UTF-8 bytes: no contract could name this text
    if (/\p{Cs}/u.test(input))
      throw new ProofgateError(
        "invalid_argument",
        "input has an unpaired UTF-16 surrogate; a proven text must be valid Unicode",
        { param: "input" },
      );
    if (model.kind === "language") return generationContentHash(model.tokenizer.encode(input), 1, []);
    return textContentHash(input);
  }
  if (model.circuit?.packing.kind === "token-step") return generationContentHash(sample, 1, []);
  return sampleContentHash(sample);
}

export interface InferencesServiceDeps {
  /** Characters of text input read at most (PROOFGATE_MAX_PROMPT_CHARS). */
  readonly maxPromptChars: number;
  readonly registry: ModelRegistry;
  /** Records and enqueues proofs; absent = nothing is proven. */
  readonly proofs?: ProofScheduler | null;
}

const ENDPOINT = "/v1/inferences";

export class InferencesService {
  constructor(private readonly deps: InferencesServiceDeps) {}

  async infer(request: InferenceRequest): Promise<Inference> {
    const model = this.deps.registry.get(request.model);
    if (typeof request.input === "string") checkPromptChars(request.input.length, this.deps.maxPromptChars, "input");
    const result = await runInference({
      model,
      input: request.input,
      topTokens: request.top_tokens ?? DEFAULT_TOP_TOKENS,
      param: "input",
    });
    const output = toWireOutput(model, result);
    const inference: Inference = {
      id: newId("inf"),
      object: "inference",
      created: Math.floor(Date.now() / 1000),
      model: model.id,
      output,
    };
    const { proofs } = this.deps;
    if (!proofs || !model.provable || !model.circuit || !result.integerRun || request.proof === false) return inference;
    const { sample, argmax, logits } = result.integerRun;
    const contentHash = requestContentHash(model, request.input, sample);
    const proof = await proofs.scheduleInference({
      id: newId("proof"),
      model: model.id,
      circuit: { modelId: model.circuit.model_id, vkeyHash: model.circuit.vkey_hash },
      endpoint: ENDPOINT,
      input: request.input,
      sample,
      served: { argmax, logits },
      output,
      contentHash,
      nonceBits: nonceBitsOf(model.circuit),
      submitAsked: submitAsked(request.proof),
    });
    return { ...inference, proof };
  }
}
