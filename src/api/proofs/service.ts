/**
 * Reads of proof records for /v1/proofs: list (and search), one record (optionally waiting for it to
 * be final), its verification key, its circuit with the record's public signals decoded.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { CircuitManifest } from "../../model/circuit-manifest.js";
import { ProofgateError } from "../../core/errors.js";
import { toWireProof, type ProofRecord, type WireProof } from "../../core/proof-record.js";
import { sleep } from "../../core/sleep.js";
import type { CompiledCatalog } from "../../prover/compiled-catalog.js";
import { readFeaturizer } from "../../model/spam-features.js";
import type { ListProofsOptions, ProofStore } from "../../store/proof-store.js";
import { decodePublicSignals } from "../../witness/circuit-input.js";
import type {
  CircuitLayout,
  CircuitSummary,
  ProofCircuit,
  ProofList,
  ProofListQuery,
  TextFeaturizer,
  VerificationKey,
} from "./protocol.js";

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

/** The circuit as /v1/proofs/{id}/circuit and /v1/stats describe it. */
export function circuitSummary(manifest: CircuitManifest): CircuitSummary {
  return {
    model_id: manifest.model_id,
    vkey_hash: manifest.vkey_hash,
    kind: manifest.kind,
    constraints: manifest.constraints,
    public_signals: manifest.public_signals.map(({ name, meaning }) => ({ name, meaning })),
  };
}

type NamedSignals = ProofCircuit["signals"];
type Decoded = ProofCircuit["decoded"];

/** Public signals named by the circuit and decoded; a list that does not fit the circuit is named by position and not decoded. */
export function readSignals(
  manifest: CircuitManifest,
  signals: readonly string[] | null,
): { signals: NamedSignals; decoded: Decoded } {
  if (signals === null) return { signals: null, decoded: null };
  const named = signals.map((value, i) => ({ name: manifest.public_signals[i]?.name ?? `signal_${i}`, value }));
  let decoded: Decoded = null;
  try {
    decoded = decodePublicSignals(
      manifest,
      signals.map((v) => BigInt(v)),
    );
  } catch {
    // the wrong count, or not numbers: shown as they are
  }
  return { signals: named, decoded };
}

/** What a verifier needs to decode the circuit's signals and recompute its commitment. */
export function circuitLayout(manifest: CircuitManifest): CircuitLayout {
  return {
    model_id_field: manifest.model_id_field,
    output: manifest.output,
    classes: manifest.classes,
    input: manifest.input,
    packing: manifest.packing,
  };
}

/** The circuit of a record and what its public signals (or its steps') say. */
export function proofCircuit(
  manifest: CircuitManifest,
  record: ProofRecord,
  featurizer: TextFeaturizer | null = null,
): ProofCircuit {
  return {
    object: "circuit",
    ...circuitSummary(manifest),
    layout: circuitLayout(manifest),
    featurizer,
    ...readSignals(manifest, record.publicSignals),
    steps: [...record.steps]
      .sort((a, b) => a.index - b.index)
      .map((step) => ({ index: step.index, ...readSignals(manifest, step.publicSignals) })),
  };
}

/** The featurizer.json a text classifier's folder holds (as the served model reads it), or null. */
async function textFeaturizer(dir: string): Promise<TextFeaturizer | null> {
  const path = join(dir, "featurizer.json");
  if (!existsSync(path)) return null;
  return readFeaturizer(path);
}

function proofNotFound(id: string): ProofgateError {
  return new ProofgateError("not_found", `No proof with id ${JSON.stringify(id)}`, { param: "id" });
}

/** The circuit model id the record's request names. */
function circuitOf(record: ProofRecord, what: string): string {
  const circuit = (record.request as { circuit?: unknown } | null)?.circuit;
  if (typeof circuit !== "string")
    throw new ProofgateError("not_found", `Proof ${record.id} names no circuit, so it has no ${what}`, { param: "id" });
  return circuit;
}

function circuitNotHere(record: ProofRecord, circuit: string): ProofgateError {
  return new ProofgateError(
    "not_found",
    `The circuit ${circuit} of proof ${record.id} is not available on this gateway`,
    { param: "id" },
  );
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

  /** The store checks limit, status, search and cursor too (invalid_argument naming the param). */
  async list(query: ProofListQuery = {}): Promise<ProofList> {
    const { q, ...rest } = query;
    const options: ListProofsOptions = { ...rest, ...(q !== undefined ? { search: q } : {}) };
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
    const circuit = circuitOf(record, "verification key");
    const model = await this.catalog.get(circuit);
    if (!model) throw circuitNotHere(record, circuit);
    return model.vkey;
  }

  async circuit(id: string): Promise<ProofCircuit> {
    const record = await this.read(id);
    const circuit = circuitOf(record, "circuit");
    const manifest = this.catalog.manifest(circuit);
    const dir = this.catalog.dir(circuit);
    if (!manifest || !dir) throw circuitNotHere(record, circuit);
    return proofCircuit(manifest, record, await textFeaturizer(dir));
  }

  private async read(id: string): Promise<ProofRecord> {
    const record = await this.store.get(id);
    if (!record) throw proofNotFound(id);
    return record;
  }
}
