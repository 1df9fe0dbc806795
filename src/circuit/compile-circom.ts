/**
 * Runs the circom 2 compiler (the npm `circom2` WebAssembly build) on a circuit. circom2 only reads
 * files under its working directory, so each run gets a scratch folder holding the project's
 * templates (`circuits/`), circomlib's, and the main file.
 */
import { spawn } from "node:child_process";
import { cp, mkdtemp, mkdir, rm, writeFile, copyFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { PROJECT_ROOT } from "../config/project.js";

const require = createRequire(import.meta.url);
/** The project's circuit templates. */
export const CIRCUITS_DIR = join(PROJECT_ROOT, "circuits");

export interface CompileCircomOptions {
  /** The main circuit's source; it includes templates as "circuits/<name>.circom". */
  readonly source: string;
  /** Base name of the outputs (`<name>.r1cs`, `<name>.wasm`, `<name>.sym`). */
  readonly name: string;
  readonly outDir: string;
  /**
   * Replacement sources for template files, by path in the scratch folder ("circuits/argmax.circom",
   * "circomlib/bitify.circom"). Soundness tests use it to build a cheating prover's witness generator:
   * the same signals, dishonest hints, assertions removed.
   */
  readonly templateOverrides?: Readonly<Record<string, string>>;
  /** What to produce. @defaultValue all three */
  readonly targets?: readonly ("r1cs" | "wasm" | "sym")[];
  /** @defaultValue "O1": linear constraints are kept, which keeps huge constant linear combinations from being substituted into every use */
  readonly optimization?: "O0" | "O1" | "O2";
}

export interface CompileCircomResult {
  /** Paths of the produced files (empty strings for targets not asked for). */
  readonly r1cs: string;
  readonly wasm: string;
  readonly sym: string;
  readonly log: string;
}

export async function compileCircom(options: CompileCircomOptions): Promise<CompileCircomResult> {
  const work = await mkdtemp(join(tmpdir(), "pg-circom-"));
  try {
    await cp(CIRCUITS_DIR, join(work, "circuits"), { recursive: true });
    await cp(join(dirname(require.resolve("circomlib/package.json")), "circuits"), join(work, "circomlib"), {
      recursive: true,
    });
    for (const [file, source] of Object.entries(options.templateOverrides ?? {}))
      await writeFile(join(work, file), source);
    const main = `${options.name}.circom`;
    await writeFile(join(work, main), options.source);
    const cli = join(dirname(require.resolve("circom2/package.json")), "cli.js");
    await mkdir(join(work, "out"));
    const targets = options.targets ?? ["r1cs", "wasm", "sym"];
    const log = await run(
      process.execPath,
      [cli, main, ...targets.map((t) => `--${t}`), `--${options.optimization ?? "O1"}`, "-l", ".", "-o", "out"],
      work,
    );
    await mkdir(options.outDir, { recursive: true });
    const produced = join(work, "out");
    const take = async (target: "r1cs" | "wasm" | "sym", from: string): Promise<string> => {
      if (!targets.includes(target)) return "";
      const to = join(options.outDir, `${options.name}.${target}`);
      await copyFile(join(produced, from), to);
      return to;
    };
    return {
      r1cs: await take("r1cs", `${options.name}.r1cs`),
      wasm: await take("wasm", join(`${options.name}_js`, `${options.name}.wasm`)),
      sym: await take("sym", `${options.name}.sym`),
      log,
    };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

function run(cmd: string, args: string[], cwd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    child.on("error", reject);
    child.on("close", (code) => {
      // circom prints colored text; strip it so the first error line reads cleanly
      // biome-ignore lint/suspicious/noControlCharactersInRegex: the ESC that starts an ANSI color code is what this strips
      const text = out.replace(/\x1b\[[0-9;]*m/g, "");
      if (code === 0 && !/^error/im.test(text)) return resolve(text);
      // the first error and the file:line it points at
      const lines = text.split("\n");
      const at = lines.findIndex((l) => /^error/i.test(l));
      const where =
        at >= 0
          ? lines
              .slice(at + 1)
              .find((l) => l.includes("┌─"))
              ?.replace(/.*┌─\s*/, "")
          : undefined;
      reject(new Error(`circom failed: ${at >= 0 ? lines[at] : lines[0]}${where ? ` at ${where}` : ""}`));
    });
  });
}
