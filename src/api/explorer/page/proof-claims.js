// @ts-check
// What a record shows, checked against what its proofs' public signals say, in the page: the signals
// are decoded here by the circuit's packing (as src/witness/circuit-input.ts does), the input
// commitment is recomputed here from the shown sample and nonce with Poseidon, and every shown value
// (nonce, sample, label, logits, tokens per step) must be the canonical one the signals carry.
// Plain functions of JSON, so node tests run them too.

import { hexToBytes, keccak256, word } from "./keccak.js";

/** @import { Poseidon } from "./poseidon.js" */
/** @import { Groth16Proof } from "./registry-call.js" */

// The shapes of the JSON API (src/api/proofs/protocol.ts) as the page reads them. A record's request
// and output are free JSON on the wire: their fields here are the ones the gateway writes, each
// optional, and the checks below still test what they rely on.

/**
 * @typedef {"generating" | "queued" | "proving" | "proved" | "submitted" | "verified" | "failed"} ProofStatus
 */

/**
 * A circuit's input domain (CircuitLayout.input).
 * @typedef {{ kind: "tokens", vocabSize: number, context: number }} TokensInput
 * @typedef {{ kind: "bits", size: number } | { kind: "int", size: number, min: number, max: number, scale: number }} TensorInput
 */

/**
 * How a circuit packs its input and output into public signals (CircuitLayout.packing).
 * @typedef {{ kind: "token-step", tokenBits: number, context: number, nonceBits: number }} TokenStepPacking
 * @typedef {{ kind: "classify", inputBits: number, inputOffset: number, perWord: number, words: number, valueBits: number }} ClassifyPacking
 * @typedef {{ kind: "tensor", inputBits: number, inputOffset: number, perWord: number, words: number, outputBits: number, outputOffset: number, outputsPerWord: number, outputWords: number }} TensorPacking
 */

/**
 * GET /v1/proofs/{id}/circuit's layout.
 * @typedef {object} CircuitLayout
 * @property {string} model_id_field decimal
 * @property {"argmax" | "logits"} output
 * @property {number} classes
 * @property {TokensInput | TensorInput} input
 * @property {TokenStepPacking | ClassifyPacking | TensorPacking} packing
 */

/**
 * A language model's layout, and a classifier's or tensor model's (whose signals commit to the input).
 * @typedef {CircuitLayout & { input: TokensInput, packing: TokenStepPacking }} TokenStepLayout
 * @typedef {CircuitLayout & { packing: ClassifyPacking | TensorPacking }} CommitmentLayout
 */

/**
 * The classifier's text → sample featurizer (TextFeaturizer).
 * @typedef {{ type: "hashed-words", buckets: number, hash: "fnv1a-32", pattern: string }} TextFeaturizer
 */

/**
 * A record's request, as committed (free JSON on the wire; these are the fields the gateway writes).
 * @typedef {object} ProofRequest
 * @property {string} [kind] "inference" or "generation"
 * @property {string} [endpoint]
 * @property {string} [circuit] the circuit's model id, hex
 * @property {boolean} [submit]
 * @property {string} [nonce] decimal
 * @property {number[]} [sample]
 * @property {unknown} [input] a classifier's text, when it took one
 * @property {{ argmax?: number, logits?: number[] }} [served]
 * @property {string} [content_hash]
 * @property {string} [salt]
 * @property {number[][]} [prompt_tokens] a generation's prompts, as token ids
 * @property {string[]} [nonces] a generation's nonce per prompt
 * @property {string[]} [content_hashes] a generation's content hash per prompt
 * @property {number} [max_tokens]
 * @property {string[]} [stop]
 * @property {number} [pad_token]
 */

/**
 * One choice of a generation's output.
 * @typedef {{ index: number, prompt_index?: number, tokens?: number[], text?: string, finish_reason?: string }} GenerationChoice
 */

/**
 * A record's output, as committed (free JSON on the wire).
 * @typedef {object} ProofOutput
 * @property {{ id: number }} [next_token]
 * @property {number} [label_id]
 * @property {string} [label]
 * @property {GenerationChoice[]} [choices]
 */

/**
 * One decoding step of a generation (ProofStep).
 * @typedef {object} ProofStep
 * @property {number} index
 * @property {ProofStatus} status
 * @property {string[] | null} public_signals
 * @property {Groth16Proof | null} proof
 * @property {{ choice?: number, position?: number, token?: number } | null} output
 * @property {Record<string, number>} timings
 * @property {string | null} prover
 */

/**
 * Where a record went on-chain (ProofChain).
 * @typedef {object} ProofChain
 * @property {number} chain_id
 * @property {string} contract
 * @property {string} tx_hash
 * @property {string | null} block_number
 * @property {string | null} gas_used
 * @property {string | null} input_commitment
 * @property {string | null} submitted_by
 */

/**
 * GET /v1/proofs/{id} (Proof).
 * @typedef {object} ProofRecord
 * @property {string} id
 * @property {ProofStatus} status
 * @property {string} model
 * @property {number} created unix seconds
 * @property {ProofRequest | null} request
 * @property {ProofOutput | null} output
 * @property {string[] | null} public_signals
 * @property {Groth16Proof | null} proof
 * @property {string | null} vkey_hash
 * @property {ProofStep[]} steps
 * @property {Record<string, number>} timings
 * @property {ProofChain | null} chain
 * @property {string | null} prover
 * @property {string | null} error
 */

/**
 * What public signals say, decoded here by the circuit's packing.
 * @typedef {{ kind: "token-step", context: number[], next_token: number, nonce: string }} TokenStepDecoded
 * @typedef {TokenStepDecoded
 *   | { kind: "classify", label: number, commitment: string }
 *   | { kind: "tensor", commitment: string, outputs: number[] }} Decoded
 */

/**
 * One check of a shown value against the signals, and one value read from them.
 * @typedef {{ ok: boolean, label: string, detail: string }} Check
 * @typedef {{ label: string, value: string }} DecodedValue
 * @typedef {(ok: boolean, label: string, detail: string, otherwise?: string) => void} Checker
 */

const HASHED_NONCE_BITS = 248;
/** keccak256("proofgate.request.v1"): REQUEST_DOMAIN of src/core/request-binding.ts. */
export const REQUEST_DOMAIN = "0x96e6860449536aea3e7f304b88b6b743955a297bde04d3a4824d1e82f7bbcd57";
const BYTES32 = /^0x[0-9a-fA-F]{64}$/;
const DECIMAL = /^(0|[1-9][0-9]*)$/;

/**
 * Bits of a canonical nonce: the state's nonce slot, or 248 for a hashed one.
 * @param {CircuitLayout} layout
 * @returns {number}
 */
export function nonceBits(layout) {
  return layout.packing.kind === "token-step" ? layout.packing.nonceBits : HASHED_NONCE_BITS;
}

/** @param {CircuitLayout["input"]} input @returns {[number, number]} */
function inputRange(input) {
  if (input.kind === "tokens") return [0, input.vocabSize - 1];
  if (input.kind === "bits") return [0, 1];
  return [input.min, input.max];
}

/** @param {CircuitLayout["input"]} input */
function inputLength(input) {
  return input.kind === "tokens" ? input.context : input.size;
}

/**
 * null, or why `values` is not a sample the model takes (length, integers, domain).
 * @param {CircuitLayout} layout
 * @param {unknown} values
 * @returns {string | null}
 */
export function sampleReason(layout, values) {
  if (!Array.isArray(values)) return "is not a list";
  const n = inputLength(layout.input);
  if (values.length !== n) return `has ${values.length} values; the model takes ${n}`;
  const [min, max] = inputRange(layout.input);
  const bad = values.findIndex((v) => !Number.isInteger(v) || v < min || v > max);
  return bad < 0 ? null : `value ${bad} is ${JSON.stringify(values[bad])}, not an integer in [${min}, ${max}]`;
}

/**
 * null, or why `text` is not a canonical nonce of this circuit.
 * @param {CircuitLayout} layout
 * @param {unknown} text
 * @returns {string | null}
 */
export function nonceReason(layout, text) {
  if (typeof text !== "string" || !DECIMAL.test(text)) return `${JSON.stringify(text)} is not a decimal integer`;
  const bits = nonceBits(layout);
  return BigInt(text) < 1n << BigInt(bits) ? null : `${text} is not below 2^${bits}`;
}

/** @type {(v: bigint, shift: number, bits: number) => number} */
const field = (v, shift, bits) => Number((v >> BigInt(shift)) & ((1n << BigInt(bits)) - 1n));

/**
 * What public signals say, by the circuit's packing (decodePublicSignals of circuit-input.ts).
 * @overload
 * @param {TokenStepLayout} layout
 * @param {readonly (string | bigint)[]} signals
 * @returns {TokenStepDecoded}
 */
/**
 * @overload
 * @param {CircuitLayout} layout
 * @param {readonly (string | bigint)[]} signals
 * @returns {Decoded}
 */
/**
 * @param {CircuitLayout} layout
 * @param {readonly (string | bigint)[]} signals
 * @returns {Decoded}
 */
export function decodeSignals(layout, signals) {
  const p = layout.packing;
  const v = signals.map((s) => BigInt(s));
  if (p.kind === "token-step") {
    const [stateIn, stateOut] = v;
    return {
      kind: "token-step",
      context: Array.from({ length: p.context }, (_, i) => field(stateIn, p.tokenBits * i, p.tokenBits)),
      next_token: field(stateOut, p.tokenBits * (p.context - 1), p.tokenBits),
      nonce: (stateIn >> BigInt(p.tokenBits * p.context)).toString(),
    };
  }
  if (p.kind === "classify")
    return {
      kind: "classify",
      label: field(v[0], 0, p.valueBits),
      commitment: ((v[0] >> BigInt(p.valueBits)) << BigInt(p.valueBits)).toString(),
    };
  /** @type {number[]} */
  const outputs = [];
  for (const word of v.slice(1))
    for (let k = 0; k < p.outputsPerWord && outputs.length < layout.classes; k++)
      outputs.push(field(word, p.outputBits * k, p.outputBits) + p.outputOffset);
  return { kind: "tensor", commitment: v[0].toString(), outputs };
}

/**
 * @param {readonly number[]} values
 * @param {number} bits
 * @param {number} offset
 * @param {number} perWord
 * @returns {bigint[]}
 */
function pack(values, bits, offset, perWord) {
  /** @type {bigint[]} */
  const words = [];
  for (let w = 0; w * perWord < values.length; w++) {
    let word = 0n;
    values.slice(w * perWord, (w + 1) * perWord).forEach((x, k) => {
      word += BigInt(x - offset) << BigInt(bits * k);
    });
    words.push(word);
  }
  return words;
}

/**
 * Poseidon chained 16 then 15 words at a time, the running hash first (circuits/commitment.circom).
 * @param {Poseidon} poseidon
 * @param {readonly bigint[]} words
 * @returns {bigint}
 */
export function hashWords(poseidon, words) {
  let acc = poseidon(words.slice(0, 16));
  for (let k = 16; k < words.length; k += 15) acc = poseidon([acc, ...words.slice(k, k + 15)]);
  return acc;
}

/**
 * Poseidon(model_id, nonce, packed sample): the commitment of a classify or tensor circuit.
 * @param {Poseidon} poseidon
 * @param {CommitmentLayout} layout
 * @param {readonly number[]} sample
 * @param {string | bigint} nonce
 * @returns {bigint}
 */
export function inputCommitment(poseidon, layout, sample, nonce) {
  const p = layout.packing;
  return hashWords(poseidon, [
    BigInt(layout.model_id_field),
    BigInt(nonce),
    ...pack(sample, p.inputBits, p.inputOffset, p.perWord),
  ]);
}

/**
 * The (state_in, state_out) of a decoding step: the window and the next token packed above the nonce.
 * @param {TokenStepLayout} layout
 * @param {readonly number[]} window
 * @param {string | bigint} nonce
 * @param {number} token
 * @returns {string[]}
 */
export function stepStates(layout, window, nonce, token) {
  const p = layout.packing;
  /** @param {readonly number[]} tokens */
  const state = (tokens) =>
    tokens.reduce(
      (acc, t, i) => acc + (BigInt(t) << BigInt(p.tokenBits * i)),
      BigInt(nonce) << BigInt(p.tokenBits * p.context),
    );
  return [state(window), state([...window.slice(1), token])].map(String);
}

/**
 * Step k's window: the last `context` tokens of prompt + generated[0..k), left-padded (step-windows.ts).
 * @param {readonly number[]} prompt
 * @param {readonly number[]} generated
 * @param {number} context
 * @param {number} pad
 * @returns {number[][]}
 */
export function stepWindows(prompt, generated, context, pad) {
  const all = [...prompt, ...generated];
  return generated.map((_, k) => {
    const end = prompt.length + k;
    const window = all.slice(Math.max(0, end - context), end);
    return [...new Array(context - window.length).fill(pad), ...window];
  });
}

/** @type {(a: unknown, b: unknown) => boolean} */
const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

/**
 * 32-bit FNV-1a of bytes (model/spam-features.ts).
 * @param {Uint8Array} bytes
 * @returns {number}
 */
function fnv1a32(bytes) {
  let h = 0x811c9dc5;
  for (const b of bytes) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  return h >>> 0;
}

/**
 * A text's presence bit per hashed word bucket, as the classifier's featurizer makes them (spamFeatures).
 * @param {string} text
 * @param {TextFeaturizer} featurizer
 * @returns {number[]}
 */
export function textFeatures(text, featurizer) {
  /** @type {number[]} */
  const out = new Array(featurizer.buckets).fill(0);
  const encoder = new TextEncoder();
  for (const w of text.toLowerCase().match(new RegExp(featurizer.pattern, "g")) ?? [])
    out[fnv1a32(encoder.encode(w)) % featurizer.buckets] = 1;
  return out;
}

/**
 * requestNonce of src/core/request-binding.ts: the top `bits` bits of keccak(REQUEST_DOMAIN, contentHash, salt).
 * @param {string} contentHash 0x-prefixed, 32 bytes
 * @param {string} salt 0x-prefixed, 32 bytes
 * @param {number} bits
 * @returns {string} decimal
 */
export function requestNonce(contentHash, salt, bits) {
  const hash = keccak256(hexToBytes(REQUEST_DOMAIN.slice(2) + contentHash.slice(2) + salt.slice(2)));
  return (BigInt(hash) >> BigInt(256 - bits)).toString();
}

/**
 * abi.encode(string[]) as ethers writes it: offset, length, each string's offset, then each string.
 * @param {readonly string[]} strings
 * @returns {string} hex without 0x
 */
function encodeStringArray(strings) {
  const encoder = new TextEncoder();
  const items = strings.map((s) => {
    const bytes = Array.from(encoder.encode(s), (b) => b.toString(16).padStart(2, "0")).join("");
    return word(bytes.length / 2) + bytes.padEnd(Math.ceil(bytes.length / 64) * 64, "0");
  });
  let offset = 32 * items.length;
  const offsets = items.map((item) => {
    const at = offset;
    offset += item.length / 2;
    return word(at);
  });
  return word(32) + word(strings.length) + offsets.join("") + items.join("");
}

/**
 * generationContentHash of src/core/request-binding.ts: keccak(abi.encode(prompt, max_tokens, keccak(abi.encode(stop)))).
 * @param {readonly number[]} promptTokens
 * @param {number} maxTokens
 * @param {readonly string[]} stop
 * @returns {string} 0x-prefixed
 */
export function generationContentHash(promptTokens, maxTokens, stop) {
  const stopHash = keccak256(hexToBytes(encodeStringArray(stop)));
  return keccak256(
    hexToBytes(
      word(96) + word(maxTokens) + stopHash.slice(2) + word(promptTokens.length) + promptTokens.map(word).join(""),
    ),
  );
}

/**
 * What a request's content hash should be, when the page holds that content: a text's bytes, or a tensor model's sample.
 * @param {CircuitLayout} layout
 * @param {ProofRequest} request
 * @returns {{ what: string, hash: string } | null}
 */
function shownContentHash(layout, request) {
  if (request.kind !== "inference") return null;
  if (typeof request.input === "string")
    return { what: "the text shown", hash: keccak256(new TextEncoder().encode(request.input)) };
  if (layout.packing.kind === "tensor" && Array.isArray(request.sample)) {
    return {
      what: "the sample shown",
      hash: keccak256(hexToBytes(word(32) + word(request.sample.length) + request.sample.map(word).join(""))),
    };
  }
  return null;
}

/**
 * A generation's request: one nonce per prompt, each canonical, each keccak(content hash, salt), each
 * content hash recomputed here from the prompt shown, its max_tokens and its stop strings.
 * @param {CircuitLayout} layout
 * @param {ProofRequest} request
 * @param {Checker} check
 * @returns {boolean} whether every nonce is canonical (the steps are checked only then)
 */
function generationBindingChecks(layout, request, check) {
  const prompts = request.prompt_tokens ?? [];
  const nonces = request.nonces ?? [];
  const hashes = request.content_hashes ?? [];
  if (!Array.isArray(nonces) || nonces.length !== prompts.length) {
    check(
      false,
      "Request nonce",
      `the record has ${Array.isArray(nonces) ? nonces.length : "no"} nonces for ${prompts.length} prompt(s)`,
    );
    return false;
  }
  let ok = true;
  prompts.forEach((prompt, k) => {
    const which = prompts.length > 1 ? ` (prompt ${k})` : "";
    const why = nonceReason(layout, nonces[k]);
    check(
      why === null,
      `Request nonce${which}`,
      why
        ? `the record's nonce ${why}: not the canonical nonce`
        : `${nonces[k]}, canonical (below 2^${nonceBits(layout)})`,
    );
    if (why) {
      ok = false;
      return;
    }
    if (!BYTES32.test(hashes[k] ?? "") || !BYTES32.test(request.salt ?? "")) {
      check(false, `Request binding${which}`, "the record's content hash or salt is not a 32-byte hex string");
      return;
    }
    const salt = /** @type {string} */ (request.salt);
    const bound = requestNonce(hashes[k], salt, nonceBits(layout)) === nonces[k];
    check(
      bound,
      `Request binding${which}`,
      "the nonce is keccak(content hash, salt), recomputed here",
      "the nonce is not keccak(content hash, salt): the proof answers another request",
    );
    const stop = Array.isArray(request.stop) ? request.stop : [];
    const shown =
      Array.isArray(prompt) && Number.isInteger(request.max_tokens)
        ? generationContentHash(prompt, /** @type {number} */ (request.max_tokens), stop)
        : null;
    check(
      shown === hashes[k].toLowerCase(),
      `Request content${which}`,
      "the content hash is keccak of the prompt, max_tokens and stop strings shown",
      "the content hash is not keccak of the prompt, max_tokens and stop strings shown",
    );
  });
  return ok;
}

/**
 * A request that names its content hash and salt: the nonce must be theirs, and the content the one shown.
 * @param {CircuitLayout} layout
 * @param {ProofRequest} request
 * @param {Checker} check
 * @returns {boolean} whether the request names them
 */
function bindingChecks(layout, request, check) {
  if (request.content_hash === undefined && request.salt === undefined) return false;
  if (!BYTES32.test(request.content_hash ?? "") || !BYTES32.test(request.salt ?? "")) {
    check(false, "Request binding", "the record's content_hash or salt is not a 32-byte hex string");
    return true;
  }
  // both tested just above
  const [contentHash, salt] = /** @type {[string, string]} */ ([request.content_hash, request.salt]);
  const nonce = requestNonce(contentHash, salt, nonceBits(layout));
  check(
    nonce === request.nonce,
    "Request binding",
    "the nonce is keccak(content hash, salt), recomputed here",
    "the nonce is not keccak(content hash, salt): the proof answers another request",
  );
  const content = shownContentHash(layout, request);
  if (content) {
    const ok = content.hash === contentHash.toLowerCase();
    check(
      ok,
      "Request content",
      ok ? `the content hash is keccak of ${content.what}` : `the content hash is not keccak of ${content.what}`,
    );
  }
  return true;
}

/**
 * Every check of a record's shown values against its signals: { checks: [{ ok, label, detail }],
 * decoded: [{ label, value }] }. ok is true or false; the record is valid only when all are true.
 * @param {ProofRecord} record
 * @param {CircuitLayout} layout
 * @param {Poseidon} poseidon
 * @param {TextFeaturizer | null} [featurizer]
 * @returns {{ checks: Check[], decoded: DecodedValue[], bound?: boolean, featurized?: boolean }}
 */
export function recordChecks(record, layout, poseidon, featurizer = null) {
  /** @type {Check[]} */
  const checks = [];
  /** @type {DecodedValue[]} */
  const decoded = [];
  // the detail says what held, or (when a second one is given) what did not
  /** @type {Checker} */
  const check = (ok, label, detail, otherwise = detail) => {
    checks.push({ ok, label, detail: ok ? detail : otherwise });
  };
  const request = /** @type {ProofRequest} */ (record.request ?? {});
  let bound = false;
  let featurized = false;
  // what the registry may record these proofs under: the input commitment, or each trace's first state
  /** @type {string[] | null} */
  let recordedUnder = null;
  if (request.kind === "generation") {
    bound = generationBindingChecks(layout, request, check);
    // a generation's circuit is a token-step one; a layout that is not fails the steps' checks
    if (bound)
      recordedUnder = generationChecks(record, request, /** @type {TokenStepLayout} */ (layout), check, decoded);
  } else {
    const nonceWhy = nonceReason(layout, request.nonce);
    check(
      nonceWhy === null,
      "Request nonce",
      nonceWhy
        ? `the record's nonce ${nonceWhy}: not the canonical nonce`
        : `${request.nonce}, canonical (below 2^${nonceBits(layout)})`,
    );
    if (nonceWhy) return { checks, decoded };
    bound = bindingChecks(layout, request, check);
    recordedUnder = inferenceChecks(record, request, layout, poseidon, check, decoded);
    if (
      featurizer !== null &&
      request.kind === "inference" &&
      typeof request.input === "string" &&
      Array.isArray(request.sample)
    ) {
      featurized = true;
      const sample = request.sample;
      const features = textFeatures(request.input, featurizer);
      const differs = features.findIndex((f, i) => f !== sample[i]);
      check(
        differs < 0 && features.length === sample.length,
        "Features of the text",
        "the sample is what the featurizer makes of the text shown, recomputed here",
        `the sample is not the text's features (bucket ${differs} differs): the proof is about another text`,
      );
    }
  }
  const shown = record.chain?.input_commitment;
  if (typeof shown === "string" && recordedUnder) {
    const ok = recordedUnder.includes(shown);
    check(
      ok,
      "On-chain input commitment",
      ok
        ? "the receipt's commitment is the proof's"
        : `the receipt shows ${shown.slice(0, 16)}…, not what the proof's signals commit to`,
    );
  }
  return { checks, decoded, bound, featurized };
}

/**
 * A single proof's checks; what its input commitment (or first state) is, once the signals are read.
 * @param {ProofRecord} record
 * @param {ProofRequest} request the record's, its nonce canonical
 * @param {CircuitLayout} layout
 * @param {Poseidon} poseidon
 * @param {Checker} check
 * @param {DecodedValue[]} decoded
 * @returns {string[] | null}
 */
function inferenceChecks(record, request, layout, poseidon, check, decoded) {
  const sampleWhy = sampleReason(layout, request.sample);
  // what sampleReason and nonceReason (recordChecks) passed: a list of integers, a decimal string
  const sample = /** @type {number[]} */ (request.sample);
  const nonce = /** @type {string} */ (request.nonce);
  check(
    sampleWhy === null,
    "Input sample",
    sampleWhy ? `the record's sample ${sampleWhy}` : `${sample.length} values, each within the model's input domain`,
  );
  if (sampleWhy || !Array.isArray(record.public_signals)) return null;
  const d = decodeSignals(layout, record.public_signals);
  const served = request.served ?? {};
  // d was read by the layout's packing, so its kind is the packing's
  if (d.kind === "token-step") {
    decoded.push(
      { label: "context", value: `[${d.context.join(", ")}]` },
      { label: "next token", value: String(d.next_token) },
      { label: "nonce", value: d.nonce },
    );
    check(
      d.nonce === request.nonce,
      "Nonce in the signals",
      d.nonce === request.nonce
        ? "equals the record's"
        : `the signals carry ${d.nonce}, the record shows ${request.nonce}`,
    );
    const context = `the signals carry [${d.context.join(", ")}], the record shows [${sample.join(", ")}]`;
    check(same(d.context, sample), "Context tokens", "the signals carry the record's window", context);
    const shown = [served.argmax, record.output?.next_token?.id].filter((v) => v !== undefined);
    const bad = shown.find((v) => v !== d.next_token);
    check(
      shown.length > 0 && bad === undefined,
      "Next token",
      bad === undefined
        ? `${d.next_token}, as the record shows`
        : `the signals carry ${d.next_token}, the record shows ${bad}`,
    );
    const states = stepStates(/** @type {TokenStepLayout} */ (layout), sample, nonce, d.next_token);
    const canonical = same(states, record.public_signals.map(String));
    check(
      canonical,
      "State encoding",
      "both states recomputed here from the window, nonce and token",
      "the states are not the canonical packing of the window, nonce and token",
    );
    return [String(record.public_signals[0])];
  }
  const recomputed = inputCommitment(poseidon, /** @type {CommitmentLayout} */ (layout), sample, nonce);
  if (d.kind === "classify") {
    const { valueBits } = /** @type {ClassifyPacking} */ (layout.packing);
    const mine = ((recomputed >> BigInt(valueBits)) << BigInt(valueBits)).toString();
    decoded.push({ label: "label", value: String(d.label) }, { label: "input commitment", value: d.commitment });
    const otherInput =
      "Poseidon of the shown sample and nonce is not the proof's commitment: the proof is of another input or nonce";
    check(
      mine === d.commitment,
      "Input commitment",
      "recomputed here with Poseidon from the shown sample and nonce: equal",
      otherInput,
    );
    const shown = [
      ["served label", served.argmax],
      ["output label_id", record.output?.label_id],
    ].filter(([, v]) => v !== undefined);
    const bad = shown.find(([, v]) => v !== d.label);
    const name = record.output?.label !== undefined ? ` (${record.output.label})` : "";
    const labelOk = shown.length > 0 && bad === undefined && d.label < layout.classes;
    check(
      labelOk,
      "Output label",
      `${d.label}${name}, as the record shows`,
      bad
        ? `the signals carry label ${d.label}, the record's ${bad[0]} is ${bad[1]}${name}`
        : `label ${d.label} is not one the record shows`,
    );
    return [d.commitment];
  }
  decoded.push(
    { label: "outputs", value: `[${d.outputs.join(", ")}]` },
    { label: "input commitment", value: d.commitment },
  );
  const otherInput =
    "Poseidon of the shown sample and nonce is not the proof's commitment: the proof is of another input or nonce";
  check(
    recomputed.toString() === d.commitment,
    "Input commitment",
    "recomputed here with Poseidon from the shown sample and nonce: equal",
    otherInput,
  );
  const outputs = `the signals carry [${d.outputs.join(", ")}], the record shows ${JSON.stringify(served.logits)}`;
  check(same(d.outputs, served.logits), "Outputs", "the signals carry the record's logits", outputs);
  return [d.commitment];
}

/**
 * A generation's checks, choice by choice; each trace's first state.
 * @param {ProofRecord} record
 * @param {ProofRequest} request the record's, one canonical nonce per prompt
 * @param {TokenStepLayout} layout
 * @param {Checker} check
 * @param {DecodedValue[]} decoded
 * @returns {string[]}
 */
function generationChecks(record, request, layout, check, decoded) {
  const choices = record.output?.choices ?? [];
  const steps = record.steps ?? [];
  // generationBindingChecks held them to one per prompt
  const nonces = /** @type {string[]} */ (request.nonces);
  /** @type {Set<ProofStep>} */
  const claimed = new Set();
  /** @type {string[]} */
  const firstStates = [];
  for (const choice of choices) {
    const label = `Tokens of choice ${choice.index}`;
    const prompt = request.prompt_tokens?.[choice.prompt_index ?? 0];
    const promptWhy = Array.isArray(prompt)
      ? prompt
          .map((t) => (Number.isInteger(t) && t >= 0 && t < layout.input.vocabSize ? null : t))
          .find((t) => t !== null)
      : "missing";
    if (promptWhy !== undefined) {
      check(false, label, `the record's prompt holds ${JSON.stringify(promptWhy)}, not a token id`);
      continue;
    }
    const mine = steps
      .filter((st) => (st.output?.choice ?? 0) === choice.index)
      .sort((a, b) => (a.output?.position ?? 0) - (b.output?.position ?? 0));
    for (const st of mine) claimed.add(st);
    const nonce = nonces[choice.prompt_index ?? 0];
    const tokens = choice.tokens ?? [];
    if (mine.length !== tokens.length) {
      check(false, label, `the record shows ${tokens.length} tokens; ${mine.length} steps are proven`);
      continue;
    }
    if (mine[0]?.public_signals) firstStates.push(String(mine[0].public_signals[0]));
    // promptWhy passed a list of token ids; a missing pad token leaves holes no step's context equals
    const windows = stepWindows(
      /** @type {number[]} */ (prompt),
      tokens,
      layout.packing.context,
      /** @type {number} */ (request.pad_token),
    );
    /** @type {number[]} */
    const proven = [];
    /** @type {string | null} */
    let why = null;
    mine.forEach((st, k) => {
      if (!Array.isArray(st.public_signals)) {
        why ??= `step ${st.index} has no signals`;
        return;
      }
      const d = decodeSignals(layout, st.public_signals);
      proven.push(d.next_token);
      // every step's token is shown decoded; the first difference is the one named
      if (why) return;
      if (st.output?.position !== k) why = `step ${st.index} is at position ${st.output?.position}, not ${k}`;
      else if (d.nonce !== nonce) why = `step ${st.index} carries nonce ${d.nonce}, the record's is ${nonce}`;
      else if (!same(d.context, windows[k]))
        why = `step ${st.index} starts from the window [${d.context.join(", ")}], not the prompt and tokens shown`;
      else if (d.next_token !== tokens[k] || d.next_token !== st.output?.token)
        why = `step ${st.index} proves token ${d.next_token}, the record shows ${tokens[k]}`;
      else if (!same(stepStates(layout, windows[k], nonce, d.next_token), st.public_signals.map(String))) {
        why = `step ${st.index}'s states are not the canonical packing of its window, nonce and token`;
      }
    });
    decoded.push({ label: `choice ${choice.index} tokens`, value: `[${proven.join(", ")}]` });
    check(
      why === null,
      label,
      why ?? `[${tokens.join(", ")}]: each step's window and token read from its signals, from the prompt on`,
    );
  }
  const stray = steps.filter((st) => !claimed.has(st));
  if (stray.length)
    check(false, "Steps", `${stray.length} step${stray.length === 1 ? "" : "s"} belong to no choice shown`);
  nonces.forEach((nonce, k) => {
    decoded.push({ label: nonces.length > 1 ? `nonce of prompt ${k}` : "nonce", value: nonce });
  });
  return firstStates;
}
