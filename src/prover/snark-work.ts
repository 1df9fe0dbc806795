/**
 * Where a proof worker's snarkjs work runs. Proving and verifying a Groth16 proof hold the calling
 * thread for long synchronous stretches (the witness, snarkjs's A·B·C construction, copies of every
 * buffer to its own worker threads, each pairing check), tens to hundreds of milliseconds each; in the
 * gateway's thread that is its event loop, so every request waits behind them. `SnarkThreads` runs
 * them in worker threads of their own (`serve`'s in-process provers); `snarkInThisThread` runs them
 * where it is called (the CLI, tests).
 *
 * Each thread proves on a single-threaded curve: snarkjs's own pool cannot start inside a worker
 * thread (its web-worker shim takes every thread but the main one for one of its own workers), and a
 * proof per thread also spares the copies of every buffer to the pool. So the pool here is of
 * threads, `threads` of them, each call going to the one with the fewest calls in flight.
 */
import { Worker } from "node:worker_threads";
import type { CompiledModel } from "./compiled-model.js";
import { prove, type ProofFile } from "./prove.js";
import { verifyProof, type VerifyResult } from "./verify.js";
import { verifyTrace, type TraceResult } from "./verify-trace.js";

export interface SnarkWork {
  prove(compiled: CompiledModel, sample: readonly number[], nonce: bigint): Promise<ProofFile>;
  verify(compiled: CompiledModel, file: ProofFile): Promise<VerifyResult>;
  verifyTrace(compiled: CompiledModel, files: readonly ProofFile[]): Promise<TraceResult>;
}

export const snarkInThisThread: SnarkWork = {
  prove: (compiled, sample, nonce) => prove(compiled, { sample, nonce }),
  verify: (compiled, file) => verifyProof(compiled.manifest, compiled.vkey, file),
  verifyTrace: (compiled, files) => verifyTrace(compiled.manifest, compiled.vkey, files),
};

/** A call into the thread: the compiled model goes by its folder, which the thread loads once. */
export type SnarkCall =
  | {
      readonly id: number;
      readonly op: "prove";
      readonly dir: string;
      readonly sample: readonly number[];
      readonly nonce: bigint;
    }
  | { readonly id: number; readonly op: "verify"; readonly dir: string; readonly file: ProofFile }
  | { readonly id: number; readonly op: "verifyTrace"; readonly dir: string; readonly files: readonly ProofFile[] }
  | { readonly id: number; readonly op: "ready" }
  | { readonly id: number; readonly op: "close" };

export type SnarkReply =
  | { readonly id: number; readonly value: unknown }
  | { readonly id: number; readonly error: string };

/**
 * What web-worker (loaded by ffjavascript) evaluates in any thread but the main one, taking it for
 * one of its own: an empty script, so that it does nothing here.
 */
const WEB_WORKER_DATA = { mod: "data:,", type: "classic" } as const;

/**
 * The thread's entry beside this module. Under tsx (tests) both are TypeScript, and Node 20 cannot
 * install tsx's loader inside a worker thread, so the entry is imported there through tsx's API.
 */
function startWorker(): Worker {
  const workerData = WEB_WORKER_DATA;
  if (!import.meta.url.endsWith(".ts"))
    return new Worker(new URL("./snark-thread-main.js", import.meta.url), { workerData });
  const entry = JSON.stringify(new URL("./snark-thread-main.ts", import.meta.url).href);
  const api = JSON.stringify(import.meta.resolve("tsx/esm/api"));
  return new Worker(`import(${api}).then(({ tsImport }) => tsImport(${entry}, ${JSON.stringify(import.meta.url)}))`, {
    eval: true,
    workerData,
  });
}

type Pending = { resolve(value: unknown): void; reject(err: Error): void };

class SnarkThread implements SnarkWork {
  #worker: Worker | null = null;
  #nextId = 0;
  readonly #calls = new Map<number, Pending>();
  readonly #inFlight = new Set<Promise<unknown>>();
  #closed = false;

  /** Calls sent and not yet answered. */
  get load(): number {
    return this.#inFlight.size;
  }

  prove(compiled: CompiledModel, sample: readonly number[], nonce: bigint): Promise<ProofFile> {
    return this.#call({ op: "prove", dir: compiled.dir, sample, nonce }) as Promise<ProofFile>;
  }

  verify(compiled: CompiledModel, file: ProofFile): Promise<VerifyResult> {
    return this.#call({ op: "verify", dir: compiled.dir, file }) as Promise<VerifyResult>;
  }

  verifyTrace(compiled: CompiledModel, files: readonly ProofFile[]): Promise<TraceResult> {
    return this.#call({ op: "verifyTrace", dir: compiled.dir, files }) as Promise<TraceResult>;
  }

  /** Resolves once the thread can prove (its curve built). */
  async ready(): Promise<void> {
    await this.#call({ op: "ready" });
  }

  /** Lets the calls in flight finish, releases snarkjs's threads, and ends the thread. */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.allSettled([...this.#inFlight]);
    const worker = this.#worker;
    if (!worker) return;
    await this.#post(worker, { op: "close" }).catch(() => undefined);
    this.#worker = null;
    await worker.terminate();
  }

  #call(call: DistributiveOmit<SnarkCall, "id">): Promise<unknown> {
    if (this.#closed) return Promise.reject(new Error("the snark thread is closed"));
    const result = this.#post(this.#started(), call);
    this.#inFlight.add(result);
    const forget = () => void this.#inFlight.delete(result);
    result.then(forget, forget);
    return result;
  }

  #post(worker: Worker, call: DistributiveOmit<SnarkCall, "id">): Promise<unknown> {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#calls.set(id, { resolve, reject });
      worker.postMessage({ ...call, id });
    });
  }

  #take(id: number): Pending | undefined {
    const call = this.#calls.get(id);
    this.#calls.delete(id);
    return call;
  }

  /** The thread, started on first use and again after one died (its calls then fail, retryable). */
  #started(): Worker {
    if (this.#worker) return this.#worker;
    const worker = startWorker();
    worker.on("message", (reply: SnarkReply) => {
      const call = this.#take(reply.id);
      if ("error" in reply) call?.reject(new Error(reply.error));
      else call?.resolve(reply.value);
    });
    const died = (err: Error) => {
      if (this.#worker !== worker) return;
      this.#worker = null;
      for (const id of [...this.#calls.keys()]) this.#take(id)?.reject(err);
    };
    worker.on("error", died);
    worker.on("exit", (code) => died(new Error(`the snark thread exited (code ${code})`)));
    this.#worker = worker;
    return worker;
  }
}

/** `threads` snark threads, started by `ready()` or the first call. */
export class SnarkThreads implements SnarkWork {
  readonly #threads: SnarkThread[];

  constructor(threads: number) {
    this.#threads = Array.from({ length: Math.max(1, threads) }, () => new SnarkThread());
  }

  prove(compiled: CompiledModel, sample: readonly number[], nonce: bigint): Promise<ProofFile> {
    return this.#least().prove(compiled, sample, nonce);
  }

  verify(compiled: CompiledModel, file: ProofFile): Promise<VerifyResult> {
    return this.#least().verify(compiled, file);
  }

  verifyTrace(compiled: CompiledModel, files: readonly ProofFile[]): Promise<TraceResult> {
    return this.#least().verifyTrace(compiled, files);
  }

  /** Resolves once every thread can prove, so that no first proof waits for a thread to start. */
  async ready(): Promise<void> {
    await Promise.all(this.#threads.map((t) => t.ready()));
  }

  async close(): Promise<void> {
    await Promise.all(this.#threads.map((t) => t.close()));
  }

  #least(): SnarkThread {
    return this.#threads.reduce((best, t) => (t.load < best.load ? t : best));
  }
}

type DistributiveOmit<T, K extends keyof T> = T extends unknown ? Omit<T, K> : never;
