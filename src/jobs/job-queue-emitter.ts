/**
 * The typed `on`/`once`/`off`/`emit` both queue implementations share. Unlike Node's EventEmitter,
 * an `error` nobody listens to is dropped rather than thrown, and a listener that throws cannot break
 * the queue that emitted (its error goes to the `error` listeners, or nowhere).
 */
import type { JobQueueEventName, JobQueueEvents } from "./job-queue.js";

/** One map holds the listeners of every event, so their types meet here. */
type AnyListener = (...args: unknown[]) => void;

export class JobQueueEmitter {
  readonly #listeners = new Map<JobQueueEventName, Set<AnyListener>>();

  on<E extends JobQueueEventName>(event: E, listener: JobQueueEvents[E]): this {
    let set = this.#listeners.get(event);
    if (!set) {
      set = new Set();
      this.#listeners.set(event, set);
    }
    set.add(listener as AnyListener);
    return this;
  }

  once<E extends JobQueueEventName>(event: E, listener: JobQueueEvents[E]): this {
    const wrapper: AnyListener & { listener?: AnyListener } = (...args) => {
      this.#listeners.get(event)?.delete(wrapper);
      (listener as AnyListener)(...args);
    };
    wrapper.listener = listener as AnyListener;
    return this.on(event, wrapper as JobQueueEvents[E]);
  }

  off<E extends JobQueueEventName>(event: E, listener: JobQueueEvents[E]): this {
    const set = this.#listeners.get(event);
    for (const entry of set ?? []) {
      if (entry === listener || (entry as { listener?: unknown }).listener === listener) set!.delete(entry);
    }
    return this;
  }

  protected emit<E extends JobQueueEventName>(event: E, ...args: Parameters<JobQueueEvents[E]>): void {
    for (const listener of [...(this.#listeners.get(event) ?? [])]) {
      try {
        listener(...args);
      } catch (err) {
        if (event !== "error") this.emit("error", err instanceof Error ? err : new Error(String(err)));
      }
    }
  }

  protected removeAllListeners(): void {
    this.#listeners.clear();
  }
}
