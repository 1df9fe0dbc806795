/** Reads of proof records for /v1/proofs: list, one record (optionally waiting for it to be final), its verification key. */
import { ProofgateError } from "../../core/errors.js";
import { toWireProof, type ProofRecord } from "../../core/proof-record.js";
import type { CompiledCatalog } from "../../prover/compiled-catalog.js";
import type { ListProofsOptions, ProofStore } from "../../store/proof-store.js";
import type { ProofList, VerificationKey, WireProof } from "./protocol.js";

/** How often a waiting request re-reads the store. */
export const DEFAULT_POLL_MS = 100;

/** Final: `verified`, `failed`, or `proved` for a record that does not go on-chain (its request says so). */
export function isFinalProof(record: ProofRecord): boolean {
  if (record.status === "verified" || record.status === "failed") return true;
  return record.status === "proved" && (record.request as { submit?: boolean } | null)?.submit !== true;
}

export interface ProofsServiceOptions {
  readonly store: ProofStore;
  readonly catalog: CompiledCatalog;
  /** When a waiting `get` may answer. @defaultValue isFinalProof */
  readonly isFinal?: (record: ProofRecord) => boolean;
  /** @defaultValue DEFAULT_POLL_MS */
  readonly pollMs?: number;
}

export interface GetProofOptions {
  /** Hold the answer up to this many seconds until the record is final. @defaultValue 0 */
  readonly waitSeconds?: number;
  /** Stops waiting (the client went away). */
  readonly signal?: AbortSignal;
}

function proofNotFound(id: string): ProofgateError {
  return new ProofgateError("not_found", `No proof with id ${JSON.stringify(id)}`, { param: "id" });
}

/** Resolves after `ms`, or at once when `signal` aborts. */
function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}

export class ProofsService {
  private readonly store: ProofStore;
  private readonly catalog: CompiledCatalog;
  private readonly isFinal: (record: ProofRecord) => boolean;
  private readonly pollMs: number;

  constructor(options: ProofsServiceOptions) {
    this.store = options.store;
    this.catalog = options.catalog;
    this.isFinal = options.isFinal ?? isFinalProof;
    this.pollMs = options.pollMs ?? DEFAULT_POLL_MS;
  }

  /** The store checks limit, status and cursor too (invalid_argument naming the param). */
  async list(options: ListProofsOptions = {}): Promise<ProofList> {
    const page = await this.store.list(options);
    return { object: "list", data: page.data.map(toWireProof), has_more: page.hasMore };
  }

  async get(id: string, options: GetProofOptions = {}): Promise<WireProof> {
    const deadline = Date.now() + (options.waitSeconds ?? 0) * 1000;
    let record = await this.read(id);
    // Polling, not a notification: the store is shared by processes on many machines, and every store can be read.
    while (!this.isFinal(record) && !options.signal?.aborted) {
      const left = deadline - Date.now();
      if (left <= 0) break;
      await sleep(Math.min(this.pollMs, left), options.signal);
      record = await this.read(id);
    }
    return toWireProof(record);
  }

  async verificationKey(id: string): Promise<VerificationKey> {
    const record = await this.read(id);
    const circuit = (record.request as { circuit?: unknown } | null)?.circuit;
    if (typeof circuit !== "string") throw new ProofgateError("not_found", `Proof ${id} names no circuit, so it has no verification key`, { param: "id" });
    const model = await this.catalog.get(circuit);
    if (!model) throw new ProofgateError("not_found", `The circuit ${circuit} of proof ${id} is not available on this gateway`, { param: "id" });
    return model.vkey;
  }

  private async read(id: string): Promise<ProofRecord> {
    const record = await this.store.get(id);
    if (!record) throw proofNotFound(id);
    return record;
  }
}
