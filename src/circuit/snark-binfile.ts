/**
 * Sections of snarkjs's binary files (.ptau, .zkey): a 4-byte magic, a version, a section count, then
 * sections of (u32 type, u64 size, bytes). Only the section asked for is read, so the header of a
 * phase-1 file of gigabytes costs a few small reads.
 */
import { open } from "node:fs/promises";

export async function readSection(path: string, magic: "ptau" | "zkey", type: number): Promise<Buffer> {
  const file = await open(path, "r");
  try {
    const { size: fileSize } = await file.stat();
    const head = Buffer.alloc(12);
    await file.read(head, 0, 12, 0);
    if (head.toString("latin1", 0, 4) !== magic) throw new Error(`${path} is not a .${magic} file`);
    const sections = head.readUInt32LE(8);
    let at = 12;
    for (let i = 0; i < sections && at + 12 <= fileSize; i++) {
      const section = Buffer.alloc(12);
      await file.read(section, 0, 12, at);
      const size = Number(section.readBigUInt64LE(4));
      at += 12;
      if (section.readUInt32LE(0) === type) {
        if (at + size > fileSize) break;
        const body = Buffer.alloc(size);
        await file.read(body, 0, size, at);
        return body;
      }
      at += size;
    }
    throw new Error(`${path} is truncated or has no section ${type}`);
  } finally {
    await file.close();
  }
}

/** log2 of the circuit size a prepared powers-of-tau file supports, from its header (not its name). */
export async function ptauPower(path: string): Promise<number> {
  const header = await readSection(path, "ptau", 1);
  // n8 (u32), the base field prime (n8 bytes), power (u32), the ceremony's power (u32)
  const n8 = header.readUInt32LE(0);
  return header.readUInt32LE(4 + n8);
}
