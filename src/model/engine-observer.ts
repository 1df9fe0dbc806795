import type { DeviceSelection } from "./execution-device.js";

/**
 * What the generation engine reports while it runs, so the API can export metrics without the engine
 * knowing about Prometheus. Every method is optional to implement meaningfully; the engine never waits on it.
 */
export interface EngineObserver {
  /** Once, when the model registry has picked the device (before any model loads), with its batch size. */
  deviceSelected?(selection: DeviceSelection, maxBatchSize: number): void;
  /** One batched `session.run` of `batchSize` rows took `seconds`. */
  batchRan(model: string, batchSize: number, seconds: number): void;
  /** Sequences that currently hold a batch slot. */
  activeChanged(model: string, active: number): void;
  /** Sequences waiting for a batch slot. */
  waitingChanged(model: string, waiting: number): void;
  /** Tokens sampled for a generation (counted when it ends, however it ends). */
  tokensGenerated(model: string, count: number): void;
}
