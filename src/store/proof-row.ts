/**
 * What the three stores share: the row a record is stored as (snake_case columns, JSON as text, the
 * same shape in SQLite, PostgreSQL and memory), option checks, and the patch rules, so every
 * implementation agrees by construction and the conformance suite only has to catch SQL slips.
 */
import { ProofgateError } from "../core/errors.js";
import {
  fromWireChain,
  fromWireStep,
  isProofStatus,
  toWireChain,
  toWireStep,
  type NewProofRecord,
  type ProofRecord,
  type ProofStatus,
  type ProofStep,
} from "../core/proof-record.js";
import type {
  FindByStatusOptions,
  FindOnChainOptions,
  ListProofsOptions,
  ProofRecordPatch,
  ProofStepPatch,
} from "./proof-store.js";

export interface ProofRow {
  id: string;
  model: string;
  created: number;
  status: string;
  /** JSON text: request, output, public_signals, proof, steps, timings, chain. */
  request: string;
  output: string;
  public_signals: string;
  proof: string;
  vkey_hash: string | null;
  steps: string;
  timings: string;
  chain: string;
  prover: string | null;
  error: string | null;
  attempts: number;
  updated_at: number;
}

/** Column order for INSERT statements. */
export const PROOF_COLUMNS = [
  "id",
  "model",
  "created",
  "status",
  "request",
  "output",
  "public_signals",
  "proof",
  "vkey_hash",
  "steps",
  "timings",
  "chain",
  "prover",
  "error",
  "attempts",
  "updated_at",
] as const satisfies readonly (keyof ProofRow)[];

/** `undefined` has no JSON form; storing it as null keeps every JSON column parseable. */
function json(value: unknown): string {
  return JSON.stringify(value ?? null);
}

export function toProofRow(record: NewProofRecord, updatedAtMs: number): ProofRow {
  return {
    id: record.id,
    model: record.model,
    created: record.created,
    status: record.status,
    request: json(record.request),
    output: json(record.output),
    public_signals: json(record.publicSignals),
    proof: json(record.proof),
    vkey_hash: record.vkeyHash,
    steps: json(record.steps.map(toWireStep)),
    timings: json(record.timings),
    chain: json(toWireChain(record.chain)),
    prover: record.prover,
    error: record.error,
    attempts: record.attempts,
    updated_at: updatedAtMs,
  };
}

export function fromProofRow(row: ProofRow): ProofRecord {
  return {
    id: row.id,
    model: row.model,
    created: Number(row.created),
    status: row.status as ProofStatus,
    request: JSON.parse(row.request),
    output: JSON.parse(row.output),
    publicSignals: JSON.parse(row.public_signals),
    proof: JSON.parse(row.proof),
    vkeyHash: row.vkey_hash,
    steps: (JSON.parse(row.steps) as Parameters<typeof fromWireStep>[0][]).map(fromWireStep),
    timings: JSON.parse(row.timings),
    chain: fromWireChain(JSON.parse(row.chain)),
    prover: row.prover,
    error: row.error,
    attempts: Number(row.attempts),
    updatedAtMs: Number(row.updated_at),
  };
}

/** A patch as columns to SET; `merge` marks `timings`, which SQL merges into the stored object. */
export interface PatchColumn {
  readonly column: keyof ProofRow;
  readonly value: string | null;
  readonly merge: boolean;
}

export function toPatchColumns(patch: ProofRecordPatch): PatchColumn[] {
  const columns: PatchColumn[] = [];
  const set = (column: keyof ProofRow, value: string | null, merge = false) => columns.push({ column, value, merge });
  if (patch.output !== undefined) set("output", json(patch.output));
  if (patch.publicSignals !== undefined) set("public_signals", json(patch.publicSignals));
  if (patch.proof !== undefined) set("proof", json(patch.proof));
  if (patch.vkeyHash !== undefined) set("vkey_hash", patch.vkeyHash);
  if (patch.steps !== undefined) set("steps", json(patch.steps.map(toWireStep)));
  if (patch.timings !== undefined) set("timings", json(patch.timings), true);
  if (patch.chain !== undefined) set("chain", json(toWireChain(patch.chain)));
  if (patch.prover !== undefined) set("prover", patch.prover);
  if (patch.error !== undefined) set("error", patch.error);
  return columns;
}

/** The patch rules in code, for the memory store (SQL stores express the same in `toPatchColumns`). */
export function applyRecordPatch(record: ProofRecord, patch: ProofRecordPatch): ProofRecord {
  const defined = Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined));
  return { ...record, ...defined, timings: { ...record.timings, ...patch.timings } };
}

/** Returns the steps with one changed; throws `not_found` (param `index`) when there is no such step. */
export function applyStepPatch(
  id: string,
  steps: readonly ProofStep[],
  index: number,
  patch: ProofStepPatch,
): ProofStep[] {
  const at = steps.findIndex((step) => step.index === index);
  if (at < 0) {
    throw new ProofgateError("not_found", `proof ${id} has no step ${index}; it has ${steps.length} steps`, {
      param: "index",
    });
  }
  const defined = Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined));
  const next = [...steps];
  next[at] = { ...steps[at], ...defined, index, timings: { ...steps[at].timings, ...patch.timings } };
  return next;
}

export function proofNotFound(id: string): ProofgateError {
  return new ProofgateError("not_found", `no proof with id ${JSON.stringify(id)}`, { param: "id" });
}

export function proofExists(id: string, cause?: unknown): ProofgateError {
  return new ProofgateError("conflict", `a proof with id ${JSON.stringify(id)} already exists`, { param: "id", cause });
}

export const LIST_LIMIT_DEFAULT = 20;
export const LIST_LIMIT_MAX = 100;
export const FIND_LIMIT_DEFAULT = 1000;

export interface CheckedListOptions {
  readonly status: ProofStatus | undefined;
  readonly model: string | undefined;
  readonly limit: number;
  readonly after: string | undefined;
  readonly search: SearchTerms | undefined;
}

export const SEARCH_MAX_LENGTH = 100;

/** A `search` as the stores match it. */
export interface SearchTerms {
  /** As given: compared with ids exactly. */
  readonly text: string;
  /** Lowercased: compared with lowercased transaction hashes. */
  readonly lower: string;
  /**
   * The number the text reads as (decimal digits, or 0x-hex), in canonical decimal: compared with
   * input commitments and public signals. Null when the text is not a number. Only digits, so it is
   * safe inside a LIKE pattern.
   */
  readonly number: string | null;
}

export function parseSearch(text: string): SearchTerms {
  const number = /^[0-9]+$/.test(text) || /^0x[0-9a-f]+$/i.test(text) ? BigInt(text).toString() : null;
  return { text, lower: text.toLowerCase(), number };
}

/** The search rules in code, for the memory store (the SQL stores express the same in SQL). */
export function matchesSearch(record: ProofRecord, terms: SearchTerms): boolean {
  if (record.id === terms.text) return true;
  if (record.chain !== null && record.chain.txHash.toLowerCase() === terms.lower) return true;
  const number = terms.number;
  if (number === null) return false;
  if (record.chain?.inputCommitment === number) return true;
  return [record.publicSignals, ...record.steps.map((step) => step.publicSignals)].some(
    (signals) => signals?.includes(number) ?? false,
  );
}

export function checkListOptions(options: ListProofsOptions = {}): CheckedListOptions {
  const limit = options.limit ?? LIST_LIMIT_DEFAULT;
  if (!Number.isInteger(limit) || limit < 1 || limit > LIST_LIMIT_MAX) {
    throw new ProofgateError("invalid_argument", `limit is ${limit}; expected an integer from 1 to ${LIST_LIMIT_MAX}`, {
      param: "limit",
    });
  }
  if (options.status !== undefined && !isProofStatus(options.status)) {
    throw new ProofgateError(
      "invalid_argument",
      `status is ${JSON.stringify(options.status)}; expected a proof status`,
      {
        param: "status",
      },
    );
  }
  const search = options.search;
  if (search !== undefined && (typeof search !== "string" || search.length < 1 || search.length > SEARCH_MAX_LENGTH)) {
    throw new ProofgateError(
      "invalid_argument",
      `search is ${JSON.stringify(search)}; expected 1 to ${SEARCH_MAX_LENGTH} characters`,
      {
        param: "search",
      },
    );
  }
  return {
    status: options.status,
    model: options.model,
    limit,
    after: options.after,
    search: search === undefined ? undefined : parseSearch(search),
  };
}

export function unknownCursor(after: string): ProofgateError {
  return new ProofgateError("invalid_argument", `after is ${JSON.stringify(after)}, which is not a proof id`, {
    param: "after",
  });
}

export interface CheckedFindOptions {
  readonly statuses: readonly ProofStatus[];
  readonly olderThanMs: number;
  readonly limit: number;
}

export function checkFindOptions(options: FindByStatusOptions): CheckedFindOptions {
  const olderThanMs = options.olderThanMs ?? 0;
  const limit = options.limit ?? FIND_LIMIT_DEFAULT;
  const bad = options.statuses.find((status) => !isProofStatus(status));
  if (bad !== undefined) {
    throw new ProofgateError("invalid_argument", `statuses holds ${JSON.stringify(bad)}; expected proof statuses`, {
      param: "statuses",
    });
  }
  if (!(olderThanMs >= 0)) {
    throw new ProofgateError("invalid_argument", `olderThanMs is ${olderThanMs}; expected a number ≥ 0`, {
      param: "olderThanMs",
    });
  }
  if (!Number.isInteger(limit) || limit < 1) {
    throw new ProofgateError("invalid_argument", `limit is ${limit}; expected a positive integer`, { param: "limit" });
  }
  return { statuses: options.statuses, olderThanMs, limit };
}

export interface CheckedFindOnChainOptions {
  readonly status: ProofStatus;
  readonly chainId: number;
  readonly after: string | undefined;
  readonly limit: number;
}

export function checkFindOnChainOptions(options: FindOnChainOptions): CheckedFindOnChainOptions {
  const limit = options.limit ?? FIND_LIMIT_DEFAULT;
  if (!isProofStatus(options.status)) {
    throw new ProofgateError(
      "invalid_argument",
      `status is ${JSON.stringify(options.status)}; expected a proof status`,
      { param: "status" },
    );
  }
  if (!Number.isSafeInteger(options.chainId) || options.chainId < 0) {
    throw new ProofgateError(
      "invalid_argument",
      `chainId is ${options.chainId}; expected a chain id (an integer ≥ 0)`,
      { param: "chainId" },
    );
  }
  if (!Number.isInteger(limit) || limit < 1) {
    throw new ProofgateError("invalid_argument", `limit is ${limit}; expected a positive integer`, { param: "limit" });
  }
  return { status: options.status, chainId: options.chainId, after: options.after, limit };
}
