/**
 * The `proofgate` command line: a table of verbs. `run` picks the verb from the leading words,
 * answers --help, and turns any failure into one line on stderr and a non-zero exit code.
 */
import { ceremony, phase2Verbs } from "./ceremony.js";
import { compile } from "./compile.js";
import { proveVerb } from "./prove.js";
import { verifyVerb } from "./verify.js";
import { contractsBuild } from "./contracts-build.js";
import { modelsBuild } from "./models-build.js";
import { serve } from "./serve.js";
import { worker } from "./worker.js";
import { debugRequested } from "../config/config.js";
import { parseVerbArgs, UsageError, verbHelp, type Verb } from "./verb.js";

export const VERBS: readonly Verb[] = [
  serve,
  worker,
  modelsBuild,
  compile,
  proveVerb,
  verifyVerb,
  ceremony,
  ...phase2Verbs,
  contractsBuild,
];

export function overallHelp(): string {
  const lines = ["usage: proofgate <command> [options]", "", "commands:"];
  for (const v of VERBS) lines.push(`  ${v.path.join(" ").padEnd(28)}${v.description.split(". ")[0]}.`);
  lines.push("", "Run `proofgate <command> --help` for a command's options.");
  return lines.join("\n");
}

function findVerb(argv: readonly string[]): { verb: Verb; rest: readonly string[] } | undefined {
  const words = argv.filter((a) => !a.startsWith("-"));
  const matches = VERBS.filter((v) => v.path.every((w, i) => words[i] === w)).sort(
    (a, b) => b.path.length - a.path.length,
  );
  const verb = matches[0];
  if (!verb) return undefined;
  const rest = [...argv];
  for (const w of verb.path) rest.splice(rest.indexOf(w), 1);
  return { verb, rest };
}

/** Runs the CLI; returns the exit code. */
export async function runCli(argv: readonly string[]): Promise<number> {
  if (argv.length === 0 || argv[0] === "--help" || argv[0] === "-h" || argv[0] === "help") {
    console.log(overallHelp());
    return argv.length === 0 ? 2 : 0;
  }
  const found = findVerb(argv);
  if (!found) {
    console.error(
      `proofgate: unknown command "${argv.filter((a) => !a.startsWith("-")).join(" ")}" (see proofgate --help)`,
    );
    return 2;
  }
  const { verb, rest } = found;
  if (rest.includes("--help") || rest.includes("-h")) {
    console.log(verbHelp(verb));
    return 0;
  }
  try {
    return await verb.run(parseVerbArgs(verb, rest));
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`proofgate ${verb.path.join(" ")}: ${err.message} (see proofgate ${verb.path.join(" ")} --help)`);
      return 2;
    }
    const message = err instanceof Error ? err.message : String(err);
    console.error(`proofgate ${verb.path.join(" ")}: ${message.split("\n")[0]}`);
    if (debugRequested()) console.error(err);
    return 1;
  }
}
