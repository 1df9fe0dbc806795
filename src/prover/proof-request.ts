/**
 * What a proof record commits to, as the gateway writes it and the workers read it: the circuit (its
 * model id), the nonce with what it is derived from (core/request-binding.ts: the request's content
 * and a salt), and for a generated sequence the prompts and chosen tokens of every choice (one
 * decoding step each), or for one inference the integer sample and the output that was served.
 * These are the `request` and `output` JSON of a record; the worker recomputes everything else.
 */

/**
 * One choice of a generation: which prompt it continued and exactly the tokens served, up to and
 * including the end-of-text token or the token that completed a stop string. `finish_reason` and
 * `completion_tokens` say why it ended and how long it is, so a complete trace is told from a prefix.
 */
export interface GeneratedChoice {
  readonly index: number;
  readonly prompt_index: number;
  readonly tokens: readonly number[];
  readonly text: string;
  readonly finish_reason: string;
  /** tokens.length: the count served (absent in records made before traces were bound to their requests). */
  readonly completion_tokens?: number;
}

export interface GenerationProofRequest {
  readonly kind: "generation";
  readonly endpoint: string;
  /** The circuit's model id (sha256 of the integer model). */
  readonly circuit: string;
  /**
   * Per prompt, decimal: bound into every step's public state of its choices. Prompt k's nonce is
   * requestNonce(content_hashes[k], salt, packing.nonceBits), content_hashes[k] =
   * generationContentHash(prompt_tokens[k], max_tokens, stop): what CompletionStore recomputes.
   */
  readonly nonces: readonly string[];
  readonly content_hashes: readonly string[];
  /** 32 random bytes, hex, fresh per record: the same request asked twice is proven under two nonces. */
  readonly salt: string;
  readonly prompt_tokens: readonly (readonly number[])[];
  /** Left padding of windows shorter than the context (the tokenizer's end-of-text id). */
  readonly pad_token: number;
  readonly temperature: number;
  readonly max_tokens: number;
  /** Every stop string the generation ended on (the request's, then the chat template's). */
  readonly stop: readonly string[];
  /** Whether it goes on-chain once proved (absent in records made before chain submission existed). */
  readonly submit?: boolean;
}

export interface GenerationProofOutput {
  readonly choices: readonly GeneratedChoice[];
}

/** Where a step sits in its generation. */
export interface StepOutput {
  readonly choice: number;
  readonly position: number;
  readonly token: number;
}

export interface InferenceProofRequest {
  readonly kind: "inference";
  readonly endpoint: string;
  readonly circuit: string;
  /**
   * Decimal. A gateway request's is requestNonce(content_hash, salt, bits): content_hash is
   * textContentHash(text) for a classifier, sampleContentHash(sample) for a tensor model, or for a
   * language model's next token generationContentHash(prompt tokens, 1, []). An oracle request's
   * nonce is the oracle's own (then there is no salt).
   */
  readonly nonce: string;
  readonly content_hash?: string;
  readonly salt?: string;
  /** What the client sent (text, or a tensor as nested arrays). */
  readonly input: unknown;
  /** The integer sample the model ran on: token window, feature bits, or quantized values. */
  readonly sample: readonly number[];
  /** What onnxruntime served, in the circuit's terms: the arg-max index and every integer logit. */
  readonly served: { readonly argmax: number; readonly logits: readonly number[] };
  readonly submit?: boolean;
  /** Set when the inference answers an on-chain oracle request. */
  readonly oracle?: OracleRequestRef;
}

/** An `InferenceRequested` event of the oracle, as the watcher saw it; the proof's nonce is oracleNonce(chain, oracle, `request_id`, the gateway's address). */
export interface OracleRequestRef {
  readonly chain_id: number;
  readonly contract: string;
  readonly request_id: string;
  readonly requester: string;
  readonly callback: string;
  readonly gas_limit: number;
  readonly fee_wei: string;
  /** Unix seconds after which the requester may take the fee back. */
  readonly deadline: number;
  /** The request's input words (token ids, or the packed input the circuit commits to), decimal. */
  readonly input: readonly string[];
  readonly tx_hash: string;
  readonly block_number: number;
}

export type ProofRequest = GenerationProofRequest | InferenceProofRequest;

/** The (choice, position) order of steps: choice by choice, each in decoding order. */
export function stepOutputs(choices: readonly GeneratedChoice[]): StepOutput[] {
  return choices.flatMap((c) => c.tokens.map((token, position) => ({ choice: c.index, position, token })));
}
