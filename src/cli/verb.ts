/**
 * A CLI verb: its usage line, what it does, its options, and an action that returns the exit code.
 * Actions only read arguments, call the library and print; the library does the work.
 */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { z } from "zod";
import { isProofgateError } from "../core/errors.js";
import { readArtifact } from "../core/read-artifact.js";

export interface VerbOption {
  readonly type: "string" | "boolean";
  readonly description: string;
  readonly short?: string;
}

export interface Verb {
  /** Words that select the verb, e.g. ["models", "build"]. */
  readonly path: readonly string[];
  readonly usage: string;
  readonly description: string;
  readonly options: Readonly<Record<string, VerbOption>>;
  run(args: VerbArgs): Promise<number>;
}

export interface VerbArgs {
  readonly positionals: readonly string[];
  readonly values: Readonly<Record<string, string | boolean | undefined>>;
}

/** A wrong invocation: reported as one line with a pointer to --help, exit code 2. */
export class UsageError extends Error {}

/** A JSON file named on the command line: one that is missing or malformed is a wrong invocation too. */
export async function readInputFile<S extends z.ZodType>(path: string, schema: S): Promise<z.output<S>> {
  try {
    return await readArtifact(path, schema);
  } catch (err) {
    if (isProofgateError(err, "invalid_argument")) throw new UsageError(err.message);
    throw err;
  }
}

type Nested = number | readonly Nested[];
const Nested: z.ZodType<Nested> = z.lazy(() => z.union([z.number(), z.array(Nested)]));
const flatten = (v: Nested): number[] => (typeof v === "number" ? [v] : v.flatMap(flatten));
/** One sample as a file writes it: numbers, nested as the model's input shape (the shape is checked where it is used). */
export const Sample = z.array(Nested).transform((values) => values.flatMap(flatten));

export function parseVerbArgs(verb: Verb, argv: readonly string[]): VerbArgs {
  const options: ParseArgsConfig["options"] = {};
  for (const [name, o] of Object.entries(verb.options))
    options[name] = { type: o.type, ...(o.short ? { short: o.short } : {}) };
  try {
    const { values, positionals } = parseArgs({ args: [...argv], options, allowPositionals: true, strict: true });
    return { positionals, values: values as VerbArgs["values"] };
  } catch (err) {
    throw new UsageError((err as Error).message.split("\n")[0]);
  }
}

export function verbHelp(verb: Verb): string {
  const lines = [`usage: proofgate ${verb.usage}`, "", verb.description];
  const entries = Object.entries(verb.options);
  if (entries.length) {
    lines.push("", "options:");
    for (const [name, o] of entries)
      lines.push(`  --${name}${o.type === "string" ? " <value>" : ""}`.padEnd(30) + o.description);
  }
  return lines.join("\n");
}
