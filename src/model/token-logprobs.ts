/**
 * Log-probabilities reported with generated tokens: the model's own distribution (real logits, i.e.
 * times the logit scale, at temperature 1), independent of the sampling settings, as OpenAI reports them.
 */
export interface TokenLogprob {
  readonly id: number;
  readonly logprob: number;
}

export interface ChosenTokenLogprob extends TokenLogprob {
  /** The most likely tokens, best first, `topLogprobs` of them. */
  readonly top: readonly TokenLogprob[];
}

export function logSoftmax(logits: Float32Array, logitScale: number): Float64Array {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) max = Math.max(max, logits[i]! * logitScale);
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += Math.exp(logits[i]! * logitScale - max);
  const logZ = max + Math.log(sum);
  const out = new Float64Array(logits.length);
  for (let i = 0; i < logits.length; i++) out[i] = logits[i]! * logitScale - logZ;
  return out;
}

/** The `count` most likely tokens, best first (lower id first on ties). */
export function topTokens(logprobs: Float64Array, count: number): TokenLogprob[] {
  const top: TokenLogprob[] = [];
  if (count <= 0) return top;
  for (let id = 0; id < logprobs.length; id++) {
    const logprob = logprobs[id]!;
    if (top.length === count && logprob <= top[count - 1]!.logprob) continue;
    let at = top.length;
    while (at > 0 && top[at - 1]!.logprob < logprob) at--;
    top.splice(at, 0, { id, logprob });
    if (top.length > count) top.pop();
  }
  return top;
}

export function chosenTokenLogprob(
  logits: Float32Array,
  logitScale: number,
  id: number,
  topCount: number,
): ChosenTokenLogprob {
  const logprobs = logSoftmax(logits, logitScale);
  return { id, logprob: logprobs[id]!, top: topTokens(logprobs, topCount) };
}
