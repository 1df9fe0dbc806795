/**
 * snarkjs keeps one bn128 curve with worker threads alive in a global for reuse across proofs; a
 * process that is done proving must terminate it or it never exits.
 */
import * as snarkjs from "snarkjs";

type CurveHolder = { curve_bn128?: { terminate(): Promise<void> } | null };

let building: Promise<unknown> | null = null;

/**
 * Call before any snarkjs proof or verification. ffjavascript checks its global curve before an
 * await and sets it after, so proofs starting at once would each build a curve with its own worker
 * threads; only the last is kept (and released), and the others keep the process alive forever.
 */
export async function sharedBn128(): Promise<void> {
  if ((globalThis as CurveHolder).curve_bn128) return;
  building ??= snarkjs.curves.getCurveFromName("bn128").finally(() => (building = null));
  await building;
}

export async function releaseSnarkWorkers(): Promise<void> {
  await building?.catch(() => undefined);
  const holder = globalThis as CurveHolder;
  const curve = holder.curve_bn128;
  holder.curve_bn128 = null;
  if (curve) await curve.terminate();
}
