/**
 * bench/fuzz: the API fuzzer of test/api/fuzz.test.ts at length — 10,000 seeded cases over every route
 * of /openapi.json against a gateway with its proof store (SQLite, no provers), /health polled beside
 * it. Reports answers by status, failures (target 0), RSS before and after, and /health latency.
 * Run: node --import tsx bench/fuzz.ts [cases] [seed]
 */
import { startProvingTestGateway } from "../test/api/gateway-fixture.js";
import { sleep } from "../src/core/sleep.js";
import { runApiFuzz } from "../test/fixtures/api-fuzz.js";
import { machineLine, markdownTable, percentile, writeSection } from "./report.js";

const cases = Number(process.argv[2] ?? 10_000);
const seed = Number(process.argv[3] ?? 42);

const gw = await startProvingTestGateway({ provers: 0 });
const rssBefore = process.memoryUsage().rss;
const health: number[] = [];
let fuzzing = true;
const poll = (async () => {
  while (fuzzing) {
    const started = performance.now();
    await fetch(`${gw.url}/health`);
    health.push(performance.now() - started);
    await sleep(50);
  }
})();
const started = performance.now();
const report = await runApiFuzz(gw.url, cases, seed);
const seconds = (performance.now() - started) / 1000;
fuzzing = false;
await poll;
const rssAfter = process.memoryUsage().rss;
await gw.close();
health.sort((a, b) => a - b);
for (const f of report.failures.slice(0, 20))
  console.error(`${f.status} ${f.why}: ${f.case.method} ${f.case.url.slice(0, 160)} → ${f.answer}`);

const mb = (bytes: number) => Math.round(bytes / 2 ** 20);
await writeSection(
  "fuzz",
  `## API fuzz

${machineLine()}. \`node --import tsx bench/fuzz.ts ${cases} ${seed}\`: seeded cases over every route of /openapi.json (mostly valid requests mutated at one place, hostile paths and queries), one at a time, SQLite store.

${markdownTable(
  [
    "cases",
    "cases/s",
    "answers by status",
    "failures (5xx, non-envelope errors)",
    "RSS before → after",
    "/health p50 / p99 during",
  ],
  [
    [
      cases,
      Math.round(cases / seconds),
      Object.entries(report.byStatus)
        .map(([s, n]) => `${s}: ${n}`)
        .join(", "),
      report.failures.length,
      `${mb(rssBefore)} → ${mb(rssAfter)} MB`,
      `${percentile(health, 0.5).toFixed(1)} / ${percentile(health, 0.99).toFixed(1)} ms`,
    ],
  ],
)}
`,
);
process.exit(report.failures.length === 0 ? 0 : 1);
