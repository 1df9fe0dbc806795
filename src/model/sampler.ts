/**
 * Picks the next token from one row of logits. Temperature 0 is greedy: the arg-max of the logits as
 * the model produced them (for an integer-exact model, its integer logits, first index on ties), which
 * is exactly the choice the proof covers. Otherwise the logits are turned into real values (times the
 * model's logit scale), divided by the temperature, and sampled within the top-p nucleus.
 */
import type { Random } from "../core/random.js";
import { argmaxFirst } from "./integer-model.js";

export interface SamplingOptions {
  /** 0 = greedy. */
  readonly temperature: number;
  /** Nucleus mass in (0, 1]; 1 keeps every token. */
  readonly topP: number;
  /** Real value of one logit unit (the card's last output scale for integer models, 1 for float models). */
  readonly logitScale: number;
}

export function chooseToken(logits: Float32Array, options: SamplingOptions, random: Random): number {
  if (options.temperature === 0) return argmaxFirst(logits);
  const factor = options.logitScale / options.temperature;
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) max = Math.max(max, logits[i]! * factor);
  const weights = new Float64Array(logits.length);
  let total = 0;
  for (let i = 0; i < logits.length; i++) total += weights[i] = Math.exp(logits[i]! * factor - max);
  // every token kept (top_p 1, the default): the draw needs no order, and sorting the vocabulary
  // for each token was the largest part of sampling's time on the event loop
  if (options.topP >= 1) {
    let target = random.next() * total;
    for (let i = 0; i < weights.length; i++) {
      target -= weights[i]!;
      if (target < 0) return i;
    }
    return weights.length - 1;
  }

  // Stable sort by weight keeps ties in index order, so the same seed picks the same token.
  const order = Array.from(weights.keys()).sort((a, b) => weights[b]! - weights[a]!);
  let kept = 0;
  let keptMass = 0;
  while (kept < order.length && (kept === 0 || keptMass < options.topP * total)) keptMass += weights[order[kept++]!]!;

  let target = random.next() * keptMass;
  for (let k = 0; k < kept; k++) {
    target -= weights[order[k]!]!;
    if (target < 0) return order[k]!;
  }
  return order[kept - 1]!;
}
