/**
 * Adam with decoupled weight decay (AdamW, Loshchilov & Hutter 2019), in place on Float32Arrays.
 * Runs in JavaScript between onnxruntime steps; it is memory-bound, so a plain loop is enough.
 */
import type { Param } from "./layers.js";

export interface AdamOptions {
  /** @defaultValue 0.9 */
  beta1?: number;
  /** @defaultValue 0.999 */
  beta2?: number;
  /** @defaultValue 1e-8 */
  epsilon?: number;
  /** Decoupled decay applied to matrices only (biases are left alone). @defaultValue 0 */
  weightDecay?: number;
}

export class Adam {
  private readonly m: Float32Array[];
  private readonly v: Float32Array[];
  private t = 0;
  private readonly beta1: number;
  private readonly beta2: number;
  private readonly epsilon: number;
  private readonly weightDecay: number;

  constructor(
    private readonly params: readonly Param[],
    options: AdamOptions = {},
  ) {
    this.beta1 = options.beta1 ?? 0.9;
    this.beta2 = options.beta2 ?? 0.999;
    this.epsilon = options.epsilon ?? 1e-8;
    this.weightDecay = options.weightDecay ?? 0;
    this.m = params.map((p) => new Float32Array(p.data.length));
    this.v = params.map((p) => new Float32Array(p.data.length));
  }

  step(grads: readonly Float32Array[], lr: number): void {
    this.t++;
    const { beta1: b1, beta2: b2, epsilon } = this;
    const c1 = 1 / (1 - b1 ** this.t);
    const c2 = 1 / (1 - b2 ** this.t);
    for (let k = 0; k < this.params.length; k++) {
      const w = this.params[k].data;
      const g = grads[k];
      const m = this.m[k];
      const v = this.v[k];
      const decay = this.params[k].shape.length > 1 ? 1 - lr * this.weightDecay : 1;
      for (let i = 0; i < w.length; i++) {
        const gi = g[i];
        if (gi === 0 && m[i] === 0) continue; // untouched embedding rows stay exactly as they are
        m[i] = b1 * m[i] + (1 - b1) * gi;
        v[i] = b2 * v[i] + (1 - b2) * gi * gi;
        w[i] = w[i] * decay - (lr * (m[i] * c1)) / (Math.sqrt(v[i] * c2) + epsilon);
      }
    }
  }
}

/** Linear warm-up, then cosine decay to `finalFraction` of the peak. */
export function cosineSchedule(
  step: number,
  total: number,
  peak: number,
  warmup: number,
  finalFraction = 0.05,
): number {
  if (step < warmup) return (peak * (step + 1)) / warmup;
  const progress = Math.min(1, (step - warmup) / Math.max(1, total - warmup));
  return peak * (finalFraction + (1 - finalFraction) * 0.5 * (1 + Math.cos(Math.PI * progress)));
}
