/**
 * $PROOFGATE_API_KEYS_FILE: API keys with a name and, optionally, limits of their own. The file is
 * checked whole at start-up; a bad one stops the gateway with one line saying where it is wrong.
 *
 *   { "keys": [ { "name": "alice", "key": "sk-…", "max_proof_steps": 64, "max_sequences": 4,
 *                 "requests_per_minute": 60, "proof_steps_per_hour": 2000 },
 *               { "name": "bob", "key_sha256": "<64 hex digits>" } ] }
 *
 * A limit left out is the server's (PROOFGATE_MAX_PROOF_STEPS, PROOFGATE_MAX_SEQUENCES_PER_CLIENT,
 * PROOFGATE_RATE_LIMIT_RPM; no hourly quota). Only the SHA-256 of a key is kept.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { z } from "zod";

/** What an API key may cost; a limit left out is the server's. */
export interface KeyLimits {
  /** Step proofs one request may cost (choices × max_tokens). */
  readonly maxProofSteps?: number;
  /** Sequences generated at once. */
  readonly maxSequences?: number;
  readonly requestsPerMinute?: number;
  /** Step proofs its proven completions may cost in any rolling hour. */
  readonly proofStepsPerHour?: number;
}

export interface NamedApiKey {
  /** What logs and metrics say of the key (never the key). */
  readonly name: string;
  /** SHA-256 of the key, hex. */
  readonly sha256: string;
  readonly limits: KeyLimits;
}

export const keySha256 = (key: string): string => createHash("sha256").update(key).digest("hex");

const limit = z.int().min(1).optional();
const KeyEntry = z
  .strictObject({
    // a name logs can print as it is: no spaces, no quotes
    name: z.string().regex(/^[\w.@-]{1,64}$/, "must be 1–64 letters, digits or _ . @ -"),
    // a bearer token has no whitespace (see bearerToken)
    key: z.string().regex(/^\S+$/, "must be a non-empty string without whitespace").optional(),
    key_sha256: z
      .string()
      .regex(/^[0-9a-fA-F]{64}$/, "must be 64 hex digits")
      .optional(),
    max_proof_steps: limit,
    max_sequences: limit,
    requests_per_minute: limit,
    proof_steps_per_hour: limit,
  })
  .refine((e) => (e.key === undefined) !== (e.key_sha256 === undefined), "needs exactly one of key and key_sha256");

const KeysFile = z.strictObject({ keys: z.array(KeyEntry).min(1) });

/** The keys of `path`, or an Error of one line naming the variable, the file and what is wrong. */
export function loadApiKeysFile(path: string): NamedApiKey[] {
  const fail = (why: string): never => {
    throw new Error(`PROOFGATE_API_KEYS_FILE ${path}: ${why.replace(/\s*\n\s*/g, " ")}`);
  };
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    return fail(err instanceof SyntaxError ? `not JSON: ${err.message}` : `cannot read it: ${(err as Error).message}`);
  }
  const parsed = KeysFile.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    return fail(
      `${
        issue.path
          .map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`))
          .join("")
          .replace(/^\./, "") || "(top level)"
      }: ${issue.message}`,
    );
  }
  const keys = parsed.data.keys.map((e) => ({
    name: e.name,
    sha256: e.key_sha256?.toLowerCase() ?? keySha256(e.key!),
    limits: {
      maxProofSteps: e.max_proof_steps,
      maxSequences: e.max_sequences,
      requestsPerMinute: e.requests_per_minute,
      proofStepsPerHour: e.proof_steps_per_hour,
    },
  }));
  keys.forEach((key, i) => {
    const earlier = keys.findIndex((k) => k.name === key.name || k.sha256 === key.sha256);
    if (earlier < i)
      fail(
        `keys[${i}]: ${keys[earlier]!.name === key.name ? `the name "${key.name}"` : "the key"} is already keys[${earlier}]'s`,
      );
  });
  return keys;
}
