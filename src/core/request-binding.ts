/**
 * What a proof's nonce commits to. A nonce is not a free number: it is the top `bits` bits of a keccak
 * over a domain tag and what the proof must be bound to, so anyone holding the preimage (the
 * contracts included, with the same abi encoding) can check that a proof answers *this* request:
 *
 * - a gateway request: keccak(abi.encode(REQUEST_DOMAIN, contentHash, salt)), where contentHash names
 *   exactly what was asked (the classifier's text bytes; a generation's prompt tokens, max_tokens
 *   and stop strings; a tensor model's sample) and salt is 32 random bytes kept in the record;
 * - an oracle request: keccak(abi.encode(ORACLE_DOMAIN, chain id, oracle, request id, fulfiller)),
 *   so a proof copied from the mempool is worthless to anyone but the fulfiller it names.
 *
 * Token-step circuits carry the nonce in the top `packing.nonceBits` bits of the state; the others
 * hash it into a Poseidon commitment, where 248 bits keep it below the field's modulus.
 */
import { randomBytes } from "node:crypto";
import { AbiCoder, keccak256, toUtf8Bytes } from "ethers";

export const REQUEST_DOMAIN = keccak256(toUtf8Bytes("proofgate.request.v1"));
export const ORACLE_DOMAIN = keccak256(toUtf8Bytes("proofgate.oracle.v1"));
/** Nonce width of circuits that hash the nonce (classify, tensor). */
export const HASHED_NONCE_BITS = 248;

const abi = AbiCoder.defaultAbiCoder();

/** The top `bits` bits of a 32-byte hash, as the contracts compute them (`uint256(h) >> (256 - bits)`). */
function topBits(hash: string, bits: number): bigint {
  if (!Number.isInteger(bits) || bits < 1 || bits > 256) throw new RangeError(`nonce width ${bits} is not in 1..256`);
  return BigInt(hash) >> BigInt(256 - bits);
}

export function randomSalt(): string {
  return `0x${randomBytes(32).toString("hex")}`;
}

/** What a classifier proof of `text` is about: the exact bytes served (keccak of its UTF-8). */
export function textContentHash(text: string): string {
  return keccak256(toUtf8Bytes(text));
}

/** What a generation is about: its whole prompt (token ids), its length limit and its stop strings. */
export function generationContentHash(
  promptTokens: readonly number[],
  maxTokens: number,
  stop: readonly string[],
): string {
  const stopHash = keccak256(abi.encode(["string[]"], [stop]));
  return keccak256(abi.encode(["uint256[]", "uint256", "bytes32"], [promptTokens, maxTokens, stopHash]));
}

/** What a tensor-model proof is about: its integer sample. */
export function sampleContentHash(sample: readonly number[]): string {
  return keccak256(abi.encode(["int256[]"], [sample]));
}

/** The nonce of a gateway request whose content hashes to `contentHash`. */
export function requestNonce(contentHash: string, salt: string, bits: number): bigint {
  return topBits(keccak256(abi.encode(["bytes32", "bytes32", "bytes32"], [REQUEST_DOMAIN, contentHash, salt])), bits);
}

export interface OracleBinding {
  readonly chainId: bigint | number;
  readonly oracle: string;
  readonly requestId: bigint;
  /** The address that will call `fulfill`. */
  readonly fulfiller: string;
}

/** The nonce an oracle request expects from this fulfiller (InferenceOracle computes the same). */
export function oracleNonce(binding: OracleBinding, bits: number): bigint {
  const encoded = abi.encode(
    ["bytes32", "uint256", "address", "uint256", "address"],
    [ORACLE_DOMAIN, binding.chainId, binding.oracle, binding.requestId, binding.fulfiller],
  );
  return topBits(keccak256(encoded), bits);
}
