/**
 * What a fresh `npm ci` spends its time on: the lock file installed into an empty folder with an empty
 * npm cache (so every tarball is downloaded), read back from npm's timing log: resolving, downloading
 * and unpacking, each install script, and the unpacked size of the biggest packages, runtime and dev.
 * Run: node --import tsx bench/install.ts [--omit=dev]
 */
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { machineLine, markdownTable, writeSection } from "./report.js";

const omitDev = process.argv.includes("--omit=dev");
const dir = mkdtempSync(join(tmpdir(), "proofgate-install-"));
for (const f of ["package.json", "package-lock.json"]) copyFileSync(f, join(dir, f));
const args = [
  "ci",
  "--no-audit",
  "--no-fund",
  "--timing",
  `--cache=${join(dir, ".npm-cache")}`,
  ...(omitDev ? ["--omit=dev"] : []),
];
const started = performance.now();
// JOBS=max as the Makefile's install does
const run = spawnSync("npm", args, {
  cwd: dir,
  encoding: "utf8",
  env: { ...process.env, JOBS: "max" },
  maxBuffer: 1 << 28,
});
const seconds = (performance.now() - started) / 1000;
if (run.status !== 0) throw new Error(`npm ci failed: ${run.stderr.slice(-2000)}`);

const timings = new Map<string, number>();
for (const m of (run.stdout + run.stderr).matchAll(/npm timing (\S+) Completed in (\d+)ms/g))
  timings.set(m[1]!, Number(m[2]) / 1000);
const phase = (name: string) => (timings.get(name) ?? 0).toFixed(0);
const scripts = [...timings]
  .filter(([k]) => k.startsWith("build:run:install:node_modules/"))
  .map(([k, s]) => [k.slice("build:run:install:node_modules/".length), `${s.toFixed(0)} s`]);

function sizeOf(path: string): number {
  const st = statSync(path);
  if (!st.isDirectory()) return st.size;
  return readdirSync(path).reduce((sum, entry) => sum + sizeOf(join(path, entry)), 0);
}
const lock = JSON.parse(readFileSync("package-lock.json", "utf8")) as { packages: Record<string, { dev?: boolean }> };
const top = Object.entries(lock.packages)
  .filter(([path]) => /^node_modules\/(@[^/]+\/)?[^/]+$/.test(path))
  .map(([path, meta]) => ({ name: path.slice("node_modules/".length), dev: meta.dev === true, path: join(dir, path) }))
  // optional packages of other platforms are in the lock file, not on disk
  .filter((p) => !(omitDev && p.dev) && existsSync(p.path))
  .map((p) => ({ ...p, bytes: sizeOf(p.path) }))
  .sort((a, b) => b.bytes - a.bytes);
const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MB`;
const total = top.reduce((s, p) => s + p.bytes, 0);
const devTotal = top.filter((p) => p.dev).reduce((s, p) => s + p.bytes, 0);
rmSync(dir, { recursive: true, force: true });

await writeSection(
  omitDev ? "install-runtime" : "install",
  `## Fresh install (bench/install${omitDev ? ", --omit=dev" : ""})

${machineLine()}. \`node --import tsx bench/install.ts${omitDev ? " --omit=dev" : ""}\`: \`npm ci\` of the lock file into an empty folder with an empty cache, phases from npm's timing log.

${markdownTable(
  ["total", "resolve", "download + unpack", "install scripts", "unpacked", "of which dev-only"],
  [
    [
      `${seconds.toFixed(0)} s`,
      `${phase("idealTree")} s`,
      `${phase("reify:unpack")} s`,
      `${phase("build:run:install")} s`,
      mb(total),
      mb(devTotal),
    ],
  ],
)}

Install scripts (package.json's \`allowScripts\` lets only these run):

${markdownTable(["package", "time"], scripts)}

Biggest packages, unpacked:

${markdownTable(
  ["package", "size", "needed by"],
  top
    .slice(0, 10)
    .map((p) => [p.name, mb(p.bytes), p.dev ? "tests, builds or training only (devDependencies)" : "run time"]),
)}
`,
);
