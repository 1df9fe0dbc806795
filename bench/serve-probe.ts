/**
 * Loaded into the benched `proofgate serve` process (`node --expose-gc --import dist/bench/serve-probe.js`,
 * spawned with an IPC channel) so bench/load can read what /proc cannot: the heap after a full GC
 * (live objects, not garbage yet to be collected) and the event loop's own delay. On each "sample"
 * message it answers the loop delay since the last sample, then collects and answers memory.
 * Nothing here runs unless the bench asks, so it adds no work to the measured traffic.
 */
import { monitorEventLoopDelay } from "node:perf_hooks";

export interface ProbeSample {
  /** Event loop delay since the previous sample, milliseconds. */
  readonly loop: { readonly p50: number; readonly p99: number; readonly max: number };
  /** process.memoryUsage() after a full GC, MB. */
  readonly memory: {
    readonly rss: number;
    readonly heapUsed: number;
    readonly external: number;
    readonly arrayBuffers: number;
  };
}

const gc = (globalThis as { gc?: () => void }).gc;
if (process.send && gc) {
  const delay = monitorEventLoopDelay({ resolution: 5 });
  delay.enable();
  const mb = (bytes: number) => Math.round(bytes / 2 ** 20);
  const ms = (ns: number) => Math.round(ns / 1e5) / 10;
  process.on("message", (message) => {
    if (message !== "sample") return;
    const loop = { p50: ms(delay.percentile(50)), p99: ms(delay.percentile(99)), max: ms(delay.max) };
    gc();
    gc(); // the second collects what the first one's finalizers released
    const m = process.memoryUsage();
    delay.reset();
    process.send!({
      loop,
      memory: { rss: mb(m.rss), heapUsed: mb(m.heapUsed), external: mb(m.external), arrayBuffers: mb(m.arrayBuffers) },
    } satisfies ProbeSample);
  });
  // the channel must not keep the server alive after SIGTERM
  process.channel?.unref();
}
