/**
 * Continuous batching for one language model: every sequence that holds a slot submits its next
 * decoding step, and once each member has either submitted or left, all submitted rows run as one
 * batched `session.run`. A sequence joins by taking a slot (its first row goes into the next batch)
 * and leaves when done, so batches grow and shrink step by step instead of per request.
 *
 * The barrier (wait for every member) is what keeps the batch whole: without it, members that are
 * still sampling would miss the run and the batch would split into alternating halves. A member must
 * therefore call `step` or `leave` promptly after each step resolves (generateText does, in a finally).
 */
import * as ort from "onnxruntime-node";
import { ProofgateError } from "../core/errors.js";
import type { EngineObserver } from "./engine-observer.js";

export interface ContinuousBatcherOptions {
  readonly modelId: string;
  readonly session: ort.InferenceSession;
  readonly inputName: string;
  readonly logitsName: string;
  /** Tokens per row: the last `contextLength` tokens, left-padded with `padId`. */
  readonly contextLength: number;
  readonly padId: number;
  /** Logits per row. */
  readonly vocabSize: number;
  /** Most members at once; later sequences wait for a slot. */
  readonly maxBatchSize: number;
  /** Most sequences waiting for a slot; beyond it `join` fails with `overloaded`. */
  readonly maxWaiting: number;
  readonly observer?: EngineObserver;
}

/** A held batch slot: one decoding step at a time, then `leave` (safe to call twice). */
export interface BatchSlot {
  /**
   * Appends `tokens` to the sequence (the prompt at the first step, then each chosen token) and
   * resolves with the logits of the token after it.
   */
  step(tokens: readonly number[]): Promise<Float32Array>;
  leave(): void;
}

interface PendingRow {
  /** The sequence's last `contextLength` tokens, left-padded: its row of the batch input. */
  readonly window: BigInt64Array;
  resolve(logits: Float32Array): void;
  reject(err: unknown): void;
}

interface Waiter {
  admit(member: object): void;
}

export class ContinuousBatcher {
  private readonly members = new Set<object>();
  private readonly pending = new Map<object, PendingRow>();
  private readonly waiting: Waiter[] = [];
  /** Input tensor per batch size, reused from step to step (a run reads its input before the next is filled). */
  private readonly inputs = new Map<number, ort.Tensor>();
  private running = false;

  constructor(private readonly options: ContinuousBatcherOptions) {}

  get activeCount(): number {
    return this.members.size;
  }

  get waitingCount(): number {
    return this.waiting.length;
  }

  /** True while any sequence holds or waits for a slot, or a batch is running. */
  get busy(): boolean {
    return this.running || this.members.size > 0 || this.waiting.length > 0;
  }

  /** Takes a slot, waiting for one when all are held; rejects with `overloaded` when too many wait. */
  async join(signal?: AbortSignal): Promise<BatchSlot> {
    signal?.throwIfAborted();
    const { maxBatchSize, modelId, observer } = this.options;
    if (this.members.size < maxBatchSize && this.waiting.length === 0) return this.slotFor(this.admitMember());
    this.checkCapacity(1);
    const member = await new Promise<object>((resolve, reject) => {
      const onAbort = (): void => {
        this.waiting.splice(this.waiting.indexOf(waiter), 1);
        observer?.waitingChanged(modelId, this.waiting.length);
        reject(signal?.reason);
      };
      const waiter: Waiter = {
        admit: (admitted) => {
          signal?.removeEventListener("abort", onAbort);
          resolve(admitted);
        },
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.waiting.push(waiter);
      observer?.waitingChanged(modelId, this.waiting.length);
    });
    return this.slotFor(member);
  }

  /**
   * Throws `overloaded` unless `count` more sequences could join now (running or waiting). Callers
   * that start several sequences check first, so a request is refused whole before anything is sent.
   */
  checkCapacity(count: number): void {
    const { maxBatchSize, maxWaiting, modelId } = this.options;
    const free = Math.max(0, maxBatchSize - this.members.size) + maxWaiting - this.waiting.length;
    if (count > free) {
      throw new ProofgateError(
        "overloaded",
        `model ${modelId} is at capacity (${this.members.size} running, ${this.waiting.length} waiting); retry shortly`,
        { retryable: true },
      );
    }
  }

  private admitMember(): object {
    const member = {};
    this.members.add(member);
    this.options.observer?.activeChanged(this.options.modelId, this.members.size);
    return member;
  }

  private slotFor(member: object): BatchSlot {
    const { contextLength, padId } = this.options;
    // a rolling window of the row, so a step converts only its new tokens, not the whole history
    const window = new BigInt64Array(contextLength).fill(BigInt(padId));
    let left = false;
    return {
      step: (tokens) =>
        new Promise<Float32Array>((resolve, reject) => {
          if (left) throw new Error("step after leave");
          const kept = Math.max(0, contextLength - tokens.length);
          window.copyWithin(0, contextLength - kept);
          for (let i = kept; i < contextLength; i++) window[i] = BigInt(tokens[tokens.length - contextLength + i]!);
          this.pending.set(member, { window, resolve, reject });
          this.runWhenComplete();
        }),
      leave: () => {
        if (left) return;
        left = true;
        this.members.delete(member);
        this.pending.delete(member);
        this.options.observer?.activeChanged(this.options.modelId, this.members.size);
        const next = this.waiting.shift();
        if (next) {
          this.options.observer?.waitingChanged(this.options.modelId, this.waiting.length);
          // the admitted sequence counts toward the barrier at once, so no batch runs without it
          next.admit(this.admitMember());
        }
        this.runWhenComplete();
      },
    };
  }

  private runWhenComplete(): void {
    if (this.running || this.pending.size === 0 || this.pending.size < this.members.size) return;
    this.running = true;
    void this.runBatch();
  }

  private async runBatch(): Promise<void> {
    const { session, inputName, logitsName, contextLength, vocabSize, modelId, observer } = this.options;
    const rows = [...this.pending.values()];
    this.pending.clear();
    let input = this.inputs.get(rows.length);
    if (!input) {
      input = new ort.Tensor("int64", new BigInt64Array(rows.length * contextLength), [rows.length, contextLength]);
      this.inputs.set(rows.length, input);
    }
    const data = input.data as BigInt64Array;
    rows.forEach((row, r) => {
      data.set(row.window, r * contextLength);
    });
    const started = performance.now();
    try {
      const out = await session.run({ [inputName]: input }, [logitsName]);
      const logits = out[logitsName]!.data as Float32Array;
      observer?.batchRan(modelId, rows.length, (performance.now() - started) / 1000);
      rows.forEach((row, r) => {
        row.resolve(logits.subarray(r * vocabSize, (r + 1) * vocabSize));
      });
    } catch (err) {
      for (const row of rows) row.reject(err);
    } finally {
      this.running = false;
      this.runWhenComplete();
    }
  }
}
