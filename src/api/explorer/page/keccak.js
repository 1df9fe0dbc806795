// @ts-check
// Keccak-256 (Ethereum's, not SHA3-256's padding), plain BigInt lanes: the page recomputes what a
// request's nonce commits to (src/core/request-binding.ts) without the server. Short inputs only, so
// speed does not matter; test/explorer/proof-claims.test.ts holds it to ethers.

const MASK = (1n << 64n) - 1n;
const ROUND_CONSTANTS = [
  0x0000000000000001n,
  0x0000000000008082n,
  0x800000000000808an,
  0x8000000080008000n,
  0x000000000000808bn,
  0x0000000080000001n,
  0x8000000080008081n,
  0x8000000000008009n,
  0x000000000000008an,
  0x0000000000000088n,
  0x0000000080008009n,
  0x000000008000000an,
  0x000000008000808bn,
  0x800000000000008bn,
  0x8000000000008089n,
  0x8000000000008003n,
  0x8000000000008002n,
  0x8000000000000080n,
  0x000000000000800an,
  0x800000008000000an,
  0x8000000080008081n,
  0x8000000000008080n,
  0x0000000080000001n,
  0x8000000080008008n,
];
// rotation of lane (x, y), index x + 5y
const ROTATIONS = [0, 1, 62, 28, 27, 36, 44, 6, 55, 20, 3, 10, 43, 25, 39, 41, 45, 15, 21, 8, 18, 2, 61, 56, 14];

/** @type {(v: bigint, n: number) => bigint} */
const rotl = (v, n) => (n === 0 ? v : ((v << BigInt(n)) | (v >> BigInt(64 - n))) & MASK);

/** Keccak-f[1600] on 25 lanes, in place. @param {bigint[]} a */
function permute(a) {
  for (const rc of ROUND_CONSTANTS) {
    const c = [0, 1, 2, 3, 4].map((x) => a[x] ^ a[x + 5] ^ a[x + 10] ^ a[x + 15] ^ a[x + 20]);
    for (let x = 0; x < 5; x++) {
      const d = c[(x + 4) % 5] ^ rotl(c[(x + 1) % 5], 1);
      for (let y = 0; y < 25; y += 5) a[x + y] ^= d;
    }
    /** @type {bigint[]} */
    const b = new Array(25);
    for (let x = 0; x < 5; x++)
      for (let y = 0; y < 5; y++) b[y + 5 * ((2 * x + 3 * y) % 5)] = rotl(a[x + 5 * y], ROTATIONS[x + 5 * y]);
    for (let x = 0; x < 5; x++)
      for (let y = 0; y < 25; y += 5) a[x + y] = b[x + y] ^ (~b[((x + 1) % 5) + y] & MASK & b[((x + 2) % 5) + y]);
    a[0] ^= rc;
  }
}

/**
 * keccak256 of bytes, as 0x-prefixed hex.
 * @param {Uint8Array} bytes
 * @returns {string}
 */
export function keccak256(bytes) {
  const rate = 136;
  const padded = new Uint8Array(Math.ceil((bytes.length + 1) / rate) * rate);
  padded.set(bytes);
  padded[bytes.length] ^= 0x01;
  padded[padded.length - 1] ^= 0x80;
  /** @type {bigint[]} */
  const state = new Array(25).fill(0n);
  for (let off = 0; off < padded.length; off += rate) {
    for (let i = 0; i < rate / 8; i++) {
      let lane = 0n;
      for (let k = 7; k >= 0; k--) lane = (lane << 8n) | BigInt(padded[off + 8 * i + k]);
      state[i] ^= lane;
    }
    permute(state);
  }
  let hex = "0x";
  for (let i = 0; i < 4; i++)
    for (let k = 0; k < 8; k++)
      hex += Number((state[i] >> BigInt(8 * k)) & 0xffn)
        .toString(16)
        .padStart(2, "0");
  return hex;
}

/**
 * @param {string} hex with or without 0x, an even number of digits
 * @returns {Uint8Array}
 */
export function hexToBytes(hex) {
  const clean = hex.replace(/^0x/, "");
  return Uint8Array.from({ length: clean.length / 2 }, (_, i) => parseInt(clean.slice(2 * i, 2 * i + 2), 16));
}

/**
 * A 32-byte big-endian word of a (two's complement) integer, as hex without 0x.
 * @param {bigint | number | string} value
 * @returns {string}
 */
export function word(value) {
  const v = BigInt(value);
  return (v < 0n ? (1n << 256n) + v : v).toString(16).padStart(64, "0");
}
