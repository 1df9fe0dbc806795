/**
 * Request bodies are checked at the edge with zod. The first problem becomes a 400 whose `param` names
 * the field as OpenAI does (`messages[0].content`); fields we do not know are dropped, never rejected,
 * and reported so they can be logged.
 */
import type { z } from "zod";
import { ProofgateError } from "../core/errors.js";

export interface ParsedRequest<T> {
  readonly value: T;
  /** Top-level fields of the body that the schema does not know (ignored). */
  readonly ignoredFields: readonly string[];
}

export function paramPath(path: readonly PropertyKey[]): string | null {
  if (path.length === 0) return null;
  return path.map((p, i) => (typeof p === "number" ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`)).join("");
}

/** No request of the API nests deeper; zod's recursive schemas would overflow the stack long before JSON.parse does. */
export const MAX_BODY_DEPTH = 32;

/** The path of the first value nested deeper than `limit`, found without recursion; null when none is. */
function tooDeep(body: unknown, limit: number): PropertyKey[] | null {
  const stack: { value: unknown; path: PropertyKey[] }[] = [{ value: body, path: [] }];
  while (stack.length > 0) {
    const { value, path } = stack.pop()!;
    if (typeof value !== "object" || value === null) continue;
    if (path.length >= limit) return path;
    for (const [key, child] of Object.entries(value))
      stack.push({ value: child, path: [...path, Array.isArray(value) ? Number(key) : key] });
  }
  return null;
}

export function parseRequest<S extends z.ZodObject>(schema: S, body: unknown): ParsedRequest<z.output<S>> {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new ProofgateError("invalid_argument", "Request body must be a JSON object (Content-Type: application/json)");
  }
  const deep = tooDeep(body, MAX_BODY_DEPTH);
  if (deep) {
    const param = paramPath(deep.slice(0, 1));
    throw new ProofgateError("invalid_argument", `Invalid ${param}: nested deeper than ${MAX_BODY_DEPTH} levels`, {
      param,
    });
  }
  const result = schema.safeParse(body);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const param = paramPath(issue.path);
    throw new ProofgateError("invalid_argument", param ? `Invalid ${param}: ${issue.message}` : issue.message, {
      param,
    });
  }
  const known = new Set(Object.keys(schema.shape));
  return { value: result.data, ignoredFields: Object.keys(body).filter((k) => !known.has(k)) };
}

/**
 * The text a request sends to be tokenized, bounded: the models read a window of a few dozen tokens,
 * and encoding a megabyte blocks every other request for a noticeable time.
 */
export function checkPromptChars(chars: number, limit: number, param: string): void {
  if (chars > limit) {
    throw new ProofgateError(
      "invalid_argument",
      `${param} has ${chars} characters; at most ${limit} are read (PROOFGATE_MAX_PROMPT_CHARS)`,
      { param },
    );
  }
}
