/**
 * The input window of each decoding step of a generated sequence: step k sees the last `context`
 * tokens of prompt + generated[0..k), left-padded with end-of-text. One proof per step; the windows
 * of consecutive steps differ by one shift, which is what chains their public states.
 */
export function decodingStepWindows(
  prompt: readonly number[],
  generated: readonly number[],
  context: number,
  eot: number,
): number[][] {
  const all = [...prompt, ...generated];
  return generated.map((_, k) => {
    const end = prompt.length + k;
    const window = all.slice(Math.max(0, end - context), end);
    return [...new Array(context - window.length).fill(eot), ...window];
  });
}
