/**
 * snarkjs keeps one bn128 curve with worker threads alive in a global for reuse across proofs; a
 * process that is done proving must terminate it or it never exits. Its thread pool is sized here:
 * a prover worker proving N jobs at once wants N threads (one proof ≈ one core), so that worker
 * processes side by side share a machine's cores instead of each claiming all of them.
 */
import os from "node:os";
import * as snarkjs from "snarkjs";

type CurveHolder = { curve_bn128?: { terminate(): Promise<void> } | null };

let building: Promise<unknown> | null = null;
let poolThreads: number | null = null;

/** Threads of the curve built next (null: one per CPU, snarkjs's default). Takes effect before the first proof. */
export function setSnarkThreads(threads: number | null): void {
  poolThreads = threads;
}

/**
 * Call before any snarkjs proof or verification. ffjavascript checks its global curve before an
 * await and sets it after, so proofs starting at once would each build a curve with its own worker
 * threads; only the last is kept (and released), and the others keep the process alive forever.
 */
export async function sharedBn128(): Promise<void> {
  if ((globalThis as CurveHolder).curve_bn128) return;
  building ??= buildCurve().finally(() => (building = null));
  await building;
}

async function buildCurve(): Promise<unknown> {
  if (poolThreads === null) return snarkjs.curves.getCurveFromName("bn128");
  // ffjavascript sizes its pool by os.cpus().length and takes no option for it; the override lasts
  // only while the pool is built
  const cpus = os.cpus;
  const threads = poolThreads;
  os.cpus = () => {
    const all = cpus();
    return Array.from({ length: threads }, (_, i) => all[i % all.length]!);
  };
  try {
    return await snarkjs.curves.getCurveFromName("bn128");
  } finally {
    os.cpus = cpus;
  }
}

export async function releaseSnarkWorkers(): Promise<void> {
  await building?.catch(() => undefined);
  const holder = globalThis as CurveHolder;
  const curve = holder.curve_bn128;
  holder.curve_bn128 = null;
  if (curve) await curve.terminate();
}
