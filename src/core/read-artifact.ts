/**
 * The one way a JSON file from disk becomes a typed value: parsed, checked against the zod schema
 * defined beside its writer, and on a mismatch refused with one line naming the file and the fields
 * that are wrong. A file that names its format (`versioned`) is refused first on the format alone, so
 * a newer or older file says that instead of listing every field that moved.
 */
import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import type { z } from "zod";
import { ProofgateError } from "./errors.js";

/** Issues listed in one message; the rest are counted. */
const SHOWN_ISSUES = 3;

const formatFields = new WeakMap<z.ZodType, { readonly field: string; readonly version: number }>();

/** Marks a schema whose `field` holds its format's version (a number literal in the schema): readArtifact checks it first. */
export function versioned<F extends string, S extends z.ZodObject<Record<F, z.ZodLiteral<number>>>>(
  field: F,
  schema: S,
): S {
  formatFields.set(schema, { field, version: schema.shape[field].value });
  return schema;
}

/** zod's issues as one line: each wrong field's path and what is wrong with it. */
export function summarizeIssues(error: z.ZodError): string {
  const shown = error.issues
    .slice(0, SHOWN_ISSUES)
    .map((issue) => `${issue.path.join(".") || "(the whole file)"}: ${issue.message}`);
  const more = error.issues.length - shown.length;
  return more > 0 ? `${shown.join("; ")}; and ${more} more` : shown.join("; ");
}

function artifactError(path: string, why: string, cause?: unknown): ProofgateError {
  return new ProofgateError("invalid_argument", `${path}: ${why}`, { cause });
}

/** JSON text said to come from `path` (a file, or a field of one), checked against `schema`. */
export function parseArtifact<S extends z.ZodType>(path: string, text: string, schema: S): z.output<S> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw artifactError(path, `not valid JSON (${(err as Error).message})`, err);
  }
  const format = formatFields.get(schema);
  if (format && typeof json === "object" && json !== null) {
    const found = (json as Record<string, unknown>)[format.field];
    if (found !== format.version) {
      const got = found === undefined ? `no ${format.field}` : `${format.field} ${JSON.stringify(found)}`;
      throw artifactError(
        path,
        `${got} found; this proofgate reads ${format.field} ${format.version} (rebuild the file)`,
      );
    }
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw artifactError(path, summarizeIssues(parsed.error), parsed.error);
  return parsed.data;
}

function readError(path: string, err: unknown): ProofgateError {
  return artifactError(path, `cannot be read (${(err as Error).message})`, err);
}

export async function readArtifact<S extends z.ZodType>(path: string, schema: S): Promise<z.output<S>> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    throw readError(path, err);
  }
  return parseArtifact(path, text, schema);
}

/** For the few readers that run at import or inside synchronous code (the contract sources, the Poseidon constants). */
export function readArtifactSync<S extends z.ZodType>(path: string, schema: S): z.output<S> {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw readError(path, err);
  }
  return parseArtifact(path, text, schema);
}
