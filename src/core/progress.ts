/**
 * A progress line with an ETA for long offline steps (training, compiling). Writes to stderr: in a
 * terminal one line rewritten in place, elsewhere (CI logs) a line every 10% so logs stay short.
 */
export interface Progress {
  update(done: number, note?: string): void;
  finish(note?: string): void;
}

function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return "?";
  const m = Math.floor(s / 60);
  return m > 0 ? `${m}m${String(Math.round(s % 60)).padStart(2, "0")}s` : `${s.toFixed(1)}s`;
}

export function createProgress(label: string, total: number, stream: NodeJS.WriteStream = process.stderr): Progress {
  const started = performance.now();
  const tty = stream.isTTY === true;
  let lastDraw = 0;
  let lastDecile = -1;
  const line = (done: number, note?: string) => {
    const elapsed = (performance.now() - started) / 1000;
    const eta = done > 0 ? (elapsed / done) * (total - done) : NaN;
    const pct = ((100 * done) / total).toFixed(1);
    return `${label} ${done}/${total} ${pct}% elapsed ${formatSeconds(elapsed)} ETA ${formatSeconds(eta)}${note ? ` ${note}` : ""}`;
  };
  return {
    update(done, note) {
      const now = performance.now();
      if (tty) {
        if (now - lastDraw < 250) return;
        lastDraw = now;
        stream.write(`\r\x1b[2K${line(done, note)}`);
      } else {
        const decile = Math.floor((10 * done) / total);
        if (decile === lastDecile) return;
        lastDecile = decile;
        stream.write(`${line(done, note)}\n`);
      }
    },
    finish(note) {
      const elapsed = (performance.now() - started) / 1000;
      stream.write(`${tty ? "\r\x1b[2K" : ""}${label} done in ${formatSeconds(elapsed)}${note ? ` ${note}` : ""}\n`);
    },
  };
}
