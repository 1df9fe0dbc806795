/**
 * Stop strings on decoded text. Text is released as soon as it can no longer be the start of a stop
 * string; the stop string itself and everything after it are never released.
 */
export interface StopScan {
  /** Text that is final and can be sent. */
  readonly released: string;
  /** True when a stop string was found; nothing more will be released. */
  readonly stopped: boolean;
}

export class StopMatcher {
  private held = "";

  constructor(private readonly stops: readonly string[]) {}

  push(text: string): StopScan {
    // nothing is ever held without stop strings, so the text is final as it comes
    if (this.stops.length === 0) return { released: text, stopped: false };
    const buffer = this.held + text;
    let first = -1;
    for (const stop of this.stops) {
      const at = buffer.indexOf(stop);
      if (at >= 0 && (first < 0 || at < first)) first = at;
    }
    if (first >= 0) {
      this.held = "";
      return { released: buffer.slice(0, first), stopped: true };
    }
    const keep = this.longestStopPrefixSuffix(buffer);
    this.held = buffer.slice(buffer.length - keep);
    return { released: buffer.slice(0, buffer.length - keep), stopped: false };
  }

  /** Releases whatever is held back (the generation ended without a stop string). */
  flush(): string {
    const rest = this.held;
    this.held = "";
    return rest;
  }

  /** Length of the longest end of `buffer` that is a proper prefix of some stop string. */
  private longestStopPrefixSuffix(buffer: string): number {
    let best = 0;
    for (const stop of this.stops) {
      for (let n = Math.min(stop.length - 1, buffer.length); n > best; n--) {
        if (buffer.endsWith(stop.slice(0, n))) {
          best = n;
          break;
        }
      }
    }
    return best;
  }
}
