// @ts-check
// The on-chain registry, read through a JSON-RPC node the user names (never through this server):
// what it registers under a verification key hash, and whether its own verifier accepts a proof.
// Hand-rolled ABI encoding of three calls; test/explorer/proof-claims.test.ts holds it to ethers.

import { keccak256, word } from "./keccak.js";

/** @type {(signature: string) => string} */
const selector = (signature) => keccak256(new TextEncoder().encode(signature)).slice(0, 10);
const MODELS = selector("models(bytes32)");
const MODEL_FIELD = selector("modelField(bytes32)");
const VERIFY = selector("verify(bytes32,uint256[8],uint256[])");

/** @type {(keyHash: string) => string} */
const key32 = (keyHash) => keyHash.replace(/^0x/, "").toLowerCase().padStart(64, "0");

/**
 * A snarkjs Groth16 proof (its JSON: decimal coordinates; the page reads only these).
 * @typedef {{ pi_a: string[], pi_b: string[][], pi_c: string[] }} Groth16Proof
 */

/**
 * A snarkjs proof as the Solidity verifier takes it: a, b with each coordinate pair swapped, c (src/chain/proof-calldata.ts).
 * @param {Groth16Proof} proof
 * @returns {bigint[]}
 */
export function proofWords(proof) {
  const [a, b, c] = [proof.pi_a, proof.pi_b, proof.pi_c];
  return [a[0], a[1], b[0][1], b[0][0], b[1][1], b[1][0], c[0], c[1]].map((v) => BigInt(v));
}

/**
 * Calldata of InferenceRegistry.verify(key, proof, signals).
 * @param {string} keyHash
 * @param {Groth16Proof} proof
 * @param {readonly string[]} signals decimal field elements
 * @returns {string}
 */
export function encodeVerify(keyHash, proof, signals) {
  const head = key32(keyHash) + proofWords(proof).map(word).join("") + word(32 * 10);
  return `${VERIFY}${head}${word(signals.length)}${signals.map(word).join("")}`;
}

/** @param {string} keyHash @returns {string} calldata of models(key) */
export function encodeModels(keyHash) {
  return `${MODELS}${key32(keyHash)}`;
}

/** @param {string} keyHash @returns {string} calldata of modelField(key) */
export function encodeModelField(keyHash) {
  return `${MODEL_FIELD}${key32(keyHash)}`;
}

/**
 * One JSON-RPC call; its result as the node gives it.
 * @param {string} url
 * @param {string} method
 * @param {unknown[]} params
 * @returns {Promise<unknown>}
 */
async function rpc(url, method, params) {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
    cache: "no-store",
  });
  const body = await res.json().catch(() => null);
  if (!res.ok || !body || body.error) throw new Error(body?.error?.message ?? `HTTP ${res.status}`);
  return body.result;
}

/** @type {(url: string, to: string, data: string) => Promise<unknown>} */
const call = (url, to, data) => rpc(url, "eth_call", [{ to, data }, "latest"]);

/**
 * What the registry holds under a key, decoded.
 * @typedef {object} RegistryEntry
 * @property {string} chainId decimal
 * @property {string} verifier address
 * @property {number} kind 0: nothing registered; 1 token-step, 2 classify, 3 tensor
 * @property {number} signals
 * @property {number} bits a label's or a token's width
 * @property {number} context
 * @property {string} field the model's field element, decimal
 */

/**
 * The registry's entry for a key: models(key) (verifier, kind, signals, label or token bits, context) and modelField(key). Kind 0: nothing registered.
 * @param {string} url a JSON-RPC endpoint
 * @param {string} registry the registry's address
 * @param {string} keyHash
 * @returns {Promise<RegistryEntry>}
 */
export async function registryEntry(url, registry, keyHash) {
  const [chainId, models, field] = await Promise.all([
    rpc(url, "eth_chainId", []),
    call(url, registry, encodeModels(keyHash)),
    call(url, registry, encodeModelField(keyHash)),
  ]);
  if (typeof models !== "string" || models.length < 2 + 64 * 3)
    throw new Error(`the contract at ${registry} answered ${String(models).slice(0, 20)}: not an InferenceRegistry`);
  /** @param {number} i */
  const at = (i) => BigInt(`0x${models.slice(2 + 64 * i, 2 + 64 * (i + 1))}`);
  // JSON-RPC hex quantities; BigInt throws on anything else
  return {
    chainId: BigInt(/** @type {string} */ (chainId)).toString(),
    verifier: `0x${models.slice(2 + 24, 2 + 64)}`,
    kind: Number(at(1)),
    signals: Number(at(2)),
    bits: Number(at(3)),
    context: Number(at(4)),
    field: BigInt(/** @type {string} */ (field)).toString(),
  };
}

/**
 * Whether the registry's own verifier (the key the chain holds) accepts the proof of these signals.
 * @param {string} url
 * @param {string} registry
 * @param {string} keyHash
 * @param {Groth16Proof} proof
 * @param {readonly string[]} signals
 * @returns {Promise<boolean>}
 */
export async function registryVerifies(url, registry, keyHash, proof, signals) {
  const result = await call(url, registry, encodeVerify(keyHash, proof, signals));
  return typeof result === "string" && BigInt(result) === 1n;
}
