/**
 * GET /v1/stats: the newest records of the store, aggregated per served model, per worker and as a
 * latency series. The aggregation is pure (`aggregateStats`); the service only pages the store.
 */
import { median } from "../../core/numbers.js";
import type { CircuitManifest } from "../../model/circuit-manifest.js";
import { PROOF_STATUSES, type ProofRecord } from "../../core/proof-record.js";
import { LIST_LIMIT_MAX } from "../../store/proof-row.js";
import type { ProofStore } from "../../store/proof-store.js";
import { circuitSummary } from "../proofs/service.js";
import { STATS_WINDOW_DEFAULT, type ProofCounts, type Stats } from "./protocol.js";

/** What the stats need of a served model (a `ServedModel` is one). */
export interface StatsModel {
  readonly id: string;
  readonly provable: boolean;
  readonly circuit: CircuitManifest | null;
}

export interface StatsServiceOptions {
  readonly store: ProofStore;
  /** The served models, in the order to show them (the model registry). */
  readonly models: { list(): readonly StatsModel[] };
}

function timing(timings: Readonly<Record<string, number>>, stage: string): number | null {
  const value = timings[stage];
  return typeof value === "number" && Number.isFinite(value) ? value : null;
}

/**
 * How long a record took to prove: its `prove` timing, or for a generation whose record has none yet
 * the sum of its steps' (only once every step has one). Null while unknown.
 */
export function recordProveMs(record: ProofRecord): number | null {
  const own = timing(record.timings, "prove");
  if (own !== null || record.steps.length === 0) return own;
  const steps = record.steps.map((step) => timing(step.timings, "prove"));
  return steps.every((ms) => ms !== null) ? steps.reduce<number>((sum, ms) => sum + ms!, 0) : null;
}

/**
 * The workers a record names: its `prover`, a comma-joined list for a generation proven by several,
 * and its steps' (a generation still proving has no `prover` of its own yet).
 */
export function proversOf(record: ProofRecord): string[] {
  const named = [...(record.prover ?? "").split(","), ...record.steps.map((step) => step.prover ?? "")];
  return [...new Set(named.map((p) => p.trim()).filter((p) => p.length > 0))];
}

function emptyCounts(): Record<keyof ProofCounts, number> {
  return { total: 0, generating: 0, queued: 0, proving: 0, proved: 0, submitted: 0, verified: 0, failed: 0 };
}

/** The stats of `records` (the newest `window` of them, in any order) for the served `models`. */
export function aggregateStats(records: readonly ProofRecord[], models: readonly StatsModel[], window: number): Stats {
  const byModel = new Map<string, { counts: Record<keyof ProofCounts, number>; proveMs: number[] }>();
  const byWorker = new Map<string, { proofs: number; proveMs: number[] }>();
  const modelEntry = (model: string) => {
    let entry = byModel.get(model);
    if (!entry) {
      entry = { counts: emptyCounts(), proveMs: [] };
      byModel.set(model, entry);
    }
    return entry;
  };
  const workerEntry = (prover: string) => {
    let entry = byWorker.get(prover);
    if (!entry) {
      entry = { proofs: 0, proveMs: [] };
      byWorker.set(prover, entry);
    }
    return entry;
  };

  for (const record of records) {
    const entry = modelEntry(record.model);
    entry.counts.total++;
    if ((PROOF_STATUSES as readonly string[]).includes(record.status)) entry.counts[record.status]++;
    const proveMs = recordProveMs(record);
    if (proveMs !== null) entry.proveMs.push(proveMs);

    for (const prover of proversOf(record)) workerEntry(prover).proofs++;
    // a worker's proving time is per Groth16 proof: the record's for a single proof, each step's it made for a generation
    if (record.steps.length === 0) {
      const ms = timing(record.timings, "prove");
      if (ms !== null) for (const prover of proversOf(record)) workerEntry(prover).proveMs.push(ms);
    }
    for (const step of record.steps) {
      const ms = timing(step.timings, "prove");
      const prover = step.prover?.trim();
      if (ms !== null && prover) workerEntry(prover).proveMs.push(ms);
    }
  }

  const served = new Set(models.map((m) => m.id));
  const others = [...byModel.keys()].filter((id) => !served.has(id)).sort();
  const modelStats = [
    ...models.map((m) => ({ id: m.id, provable: m.provable, circuit: m.circuit })),
    ...others.map((id) => ({ id, provable: false, circuit: null })),
  ].map((m) => {
    const entry = byModel.get(m.id);
    return {
      model: m.id,
      provable: m.provable,
      circuit: m.circuit ? circuitSummary(m.circuit) : null,
      proofs: entry?.counts ?? emptyCounts(),
      median_prove_ms: median(entry?.proveMs ?? []),
    };
  });

  const workers = [...byWorker.entries()]
    .sort(([a, wa], [b, wb]) => wb.proofs - wa.proofs || (a < b ? -1 : a > b ? 1 : 0))
    .map(([prover, w]) => ({ prover, proofs: w.proofs, median_prove_ms: median(w.proveMs) }));

  const latency = records
    .filter((r) => timing(r.timings, "total") !== null)
    .sort((a, b) => a.created - b.created || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    .map((r) => ({ id: r.id, model: r.model, created: r.created, total_ms: timing(r.timings, "total")! }));

  return { object: "stats", window, models: modelStats, workers, latency };
}

export class StatsService {
  constructor(private readonly options: StatsServiceOptions) {}

  /** Pages through the newest `window` records (newest first) and aggregates them. */
  async stats(window: number = STATS_WINDOW_DEFAULT): Promise<Stats> {
    const records: ProofRecord[] = [];
    let after: string | undefined;
    while (records.length < window) {
      const page = await this.options.store.list({ limit: Math.min(LIST_LIMIT_MAX, window - records.length), after });
      records.push(...page.data);
      if (!page.hasMore || page.data.length === 0) break;
      after = page.data.at(-1)!.id;
    }
    return aggregateStats(records, this.options.models.list(), window);
  }
}
