/**
 * snarkjs keeps one bn128 curve with worker threads alive in a global for reuse across proofs; a
 * process that is done proving must terminate it or it never exits.
 */
export async function releaseSnarkWorkers(): Promise<void> {
  const holder = globalThis as { curve_bn128?: { terminate(): Promise<void> } | null };
  const curve = holder.curve_bn128;
  holder.curve_bn128 = null;
  if (curve) await curve.terminate();
}
