/** A witness as a .wtns file (iden3 binfile "wtns" v2: a header section, then 32-byte little-endian values). */
import { FIELD_PRIME } from "../snark/field.js";

export function encodeWtns(values: readonly bigint[]): Uint8Array {
  const n8 = 32;
  const out = new Uint8Array(12 + (12 + 4 + n8 + 4) + 12 + values.length * n8);
  const view = new DataView(out.buffer);
  let at = 0;
  const u32 = (v: number) => {
    view.setUint32(at, v, true);
    at += 4;
  };
  const u64 = (v: number) => {
    view.setBigUint64(at, BigInt(v), true);
    at += 8;
  };
  const bigint = (v: bigint) => {
    for (let i = 0; i < n8; i++, v >>= 8n) out[at + i] = Number(v & 0xffn);
    at += n8;
  };
  const field = (v: bigint) => bigint(((v % FIELD_PRIME) + FIELD_PRIME) % FIELD_PRIME);
  out.set(new TextEncoder().encode("wtns"), 0);
  at = 4;
  u32(2); // version
  u32(2); // sections
  u32(1); // header: field size, prime, witness count
  u64(4 + n8 + 4);
  u32(n8);
  bigint(FIELD_PRIME);
  u32(values.length);
  u32(2); // values
  u64(values.length * n8);
  for (const v of values) field(v);
  return out;
}
