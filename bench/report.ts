/**
 * Benchmarks print a markdown section and write it into docs/BENCHMARKS.md between markers named
 * after the bench, so each bench owns its section and re-running one leaves the others alone.
 */
import { existsSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import os from "node:os";

const FILE = "docs/BENCHMARKS.md";

export function machineLine(): string {
  const cpu = os.cpus()[0]?.model ?? "unknown CPU";
  return `${os.cpus().length} × ${cpu}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}`;
}

export function markdownTable(header: readonly string[], rows: readonly (readonly (string | number)[])[]): string {
  return [
    `| ${header.join(" | ")} |`,
    `|${header.map(() => "---").join("|")}|`,
    ...rows.map((r) => `| ${r.join(" | ")} |`),
  ].join("\n");
}

export async function writeSection(name: string, body: string): Promise<void> {
  console.log(body);
  const begin = `<!-- bench:${name} -->`;
  const end = `<!-- /bench:${name} -->`;
  const section = `${begin}\n${body.trim()}\n${end}`;
  let doc = existsSync(FILE)
    ? await readFile(FILE, "utf8")
    : "# Benchmarks\n\nLatest results of `bench/`; each section is rewritten by its bench.\n";
  const at = doc.indexOf(begin);
  const stop = doc.indexOf(end);
  doc =
    at >= 0 && stop > at
      ? doc.slice(0, at) + section + doc.slice(stop + end.length)
      : `${doc.trimEnd()}\n\n${section}\n`;
  await writeFile(FILE, doc);
}

/** Nearest-rank percentile of an ascending array, p in (0, 1]. */
export function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.max(0, Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1))];
}

export interface ClosedLoopResult {
  /** Milliseconds per request, ascending. */
  readonly latencies: number[];
  readonly tokens: number;
  readonly seconds: number;
}

/**
 * Closed-loop load: `concurrency` clients send `requests` requests in all, each the next as soon as its
 * last one answered. `request(i)` sends request i and resolves to the tokens it generated.
 */
export async function closedLoop(
  concurrency: number,
  requests: number,
  request: (i: number) => Promise<number>,
): Promise<ClosedLoopResult> {
  const latencies: number[] = [];
  let tokens = 0;
  let next = 0;
  const client = async (): Promise<void> => {
    while (next < requests) {
      const i = next++;
      const started = performance.now();
      const generated = await request(i); // awaited first: `tokens += await …` would add to a stale total
      latencies.push(performance.now() - started);
      tokens += generated;
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, client));
  return { latencies: latencies.sort((a, b) => a - b), tokens, seconds: (performance.now() - started) / 1000 };
}
