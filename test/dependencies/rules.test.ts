import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { fileImports, readImportGraph, REPOSITORY_ROOT, type ImportEdge, type ImportGraph } from "./import-graph.js";
import { ALLOWED, checkDependencyRules, stageOf } from "./rules.js";

/** A graph from `from -> to` lines; `type` or `dynamic` after the target marks the import. */
function graph(...lines: string[]): ImportGraph {
  const edges: ImportEdge[] = lines.map((line) => {
    const [from, , to, mark] = line.split(" ");
    return { from, to, typeOnly: mark === "type", dynamic: mark === "dynamic" };
  });
  const files = [...new Set(edges.flatMap((e) => [e.from, e.to]).filter((f) => f.endsWith(".ts")))].sort();
  return { files, edges };
}

const SERVE_PATH = [
  "src/main.ts -> src/cli/index.ts",
  "src/cli/index.ts -> src/cli/serve.ts",
  "src/cli/serve.ts -> src/api/start-gateway.ts",
];

describe("the dependency rules", () => {
  it("hold for src/ as it is", () => {
    const real = readImportGraph(REPOSITORY_ROOT);
    assert.ok(
      real.files.length > 100 &&
        real.files.includes("src/cli/serve.ts") &&
        real.files.includes("src/circuit/compile.ts"),
    );
    assert.ok(
      real.edges.some((e) => e.from === "src/prover/verify.ts" && e.to === "src/model/circuit-manifest.ts"),
      "the graph sees the serving side's imports",
    );
    assert.ok(
      real.edges.some((e) => e.from === "src/cli/compile.ts" && e.to === "src/circuit/compile.ts" && e.dynamic),
      "and dynamic ones",
    );
    assert.deepEqual(checkDependencyRules(real), []);
  });

  it("every stage folder under src/ is in the table, and the table itself has no cycle", () => {
    const stages = new Set(readImportGraph(REPOSITORY_ROOT).files.map(stageOf));
    assert.deepEqual(
      [...stages].filter((s) => !(s in ALLOWED)),
      [],
    );
    const order: string[] = [];
    const place = (s: string, path: string[]): void => {
      assert.ok(!path.includes(s), `the table allows a cycle: ${[...path, s].join(" → ")}`);
      if (order.includes(s)) return;
      for (const t of ALLOWED[s]) place(t, [...path, s]);
      order.push(s);
    };
    for (const s of Object.keys(ALLOWED)) place(s, []);
  });

  it("only src/config/ reads process.env", () => {
    const readers = readImportGraph(REPOSITORY_ROOT).files.filter(
      (f) => stageOf(f) !== "config" && /\bprocess\.env\b/.test(readFileSync(join(REPOSITORY_ROOT, f), "utf8")),
    );
    assert.deepEqual(readers, []);
  });

  it("a cycle between stages fails, even where the table allows each side", () => {
    const g = graph(
      "src/model/a.ts -> src/witness/b.ts",
      "src/witness/b.ts -> src/prover/c.ts",
      "src/prover/c.ts -> src/model/a.ts type",
    );
    const permissive = { model: ["witness"], witness: ["prover"], prover: ["model"] };
    assert.deepEqual(checkDependencyRules(g, { allowed: permissive, entries: [] }), [
      "stages depend on each other in a cycle: model → witness → prover → model",
    ]);
    const problems = checkDependencyRules(g, { entries: [] });
    assert.ok(
      problems.includes("src/model/a.ts imports src/witness/b.ts: model may not depend on witness"),
      problems.join("\n"),
    );
    assert.ok(problems.some((p) => p.startsWith("stages depend on each other in a cycle")));
  });

  it("an import the table does not allow fails, naming the file", () => {
    const g = graph("src/api/app.ts -> src/compose.ts type", "src/prover/verify.ts -> src/chain/x.ts");
    assert.deepEqual(checkDependencyRules(g, { entries: [] }), [
      "src/api/app.ts imports src/compose.ts: api may not depend on compose",
      "src/prover/verify.ts imports src/chain/x.ts: prover may not depend on chain",
    ]);
  });

  it("serving that loads the compiler fails, through any chain of static imports or serve's dynamic ones", () => {
    const staticImport = graph(
      ...SERVE_PATH,
      "src/api/start-gateway.ts -> src/prover/verify.ts",
      "src/prover/verify.ts -> src/circuit/compile.ts",
    );
    const problems = checkDependencyRules(staticImport, {
      allowed: { ...ALLOWED, prover: [...ALLOWED.prover, "circuit"] },
    });
    assert.deepEqual(problems, [
      "serving entry src/main.ts loads the offline side: src/main.ts → src/cli/index.ts → src/cli/serve.ts → src/api/start-gateway.ts → src/prover/verify.ts → src/circuit/compile.ts",
      "serving entry src/cli/serve.ts loads the offline side: src/cli/serve.ts → src/api/start-gateway.ts → src/prover/verify.ts → src/circuit/compile.ts",
    ]);
    const dynamicInServe = graph(...SERVE_PATH, "src/cli/serve.ts -> src/onnx/onnx-import.ts dynamic");
    assert.deepEqual(checkDependencyRules(dynamicInServe), [
      "serving entry src/cli/serve.ts loads the offline side: src/cli/serve.ts → src/onnx/onnx-import.ts",
    ]);
    const offlinePackage = graph(...SERVE_PATH, "src/api/start-gateway.ts -> r1csfile");
    assert.equal(checkDependencyRules(offlinePackage).length, 2, "r1csfile, from main.ts and from serve.ts");
  });

  it("an offline verb's dynamic import and a type-only import load nothing while serving", () => {
    const g = graph(
      ...SERVE_PATH,
      "src/cli/index.ts -> src/cli/compile.ts",
      "src/cli/compile.ts -> src/circuit/compile.ts dynamic",
      "src/api/start-gateway.ts -> src/model/m.ts",
      "src/model/m.ts -> src/circuit/emit-circuit.ts type",
    );
    const exceptions = [{ from: "src/model/m.ts", to: "src/circuit/emit-circuit.ts", why: "test" }];
    assert.deepEqual(checkDependencyRules(g, { exceptions }), []);
    // without the exception the type import breaks the table, but still loads nothing
    assert.deepEqual(checkDependencyRules(g, { exceptions: [] }), [
      "src/model/m.ts imports src/circuit/emit-circuit.ts: model may not depend on circuit",
    ]);
  });

  it("an exception covers a type-only import only", () => {
    const g = graph(
      ...SERVE_PATH,
      "src/api/start-gateway.ts -> src/model/m.ts",
      "src/model/m.ts -> src/circuit/emit-circuit.ts",
    );
    const problems = checkDependencyRules(g, {
      exceptions: [{ from: "src/model/m.ts", to: "src/circuit/emit-circuit.ts", why: "test" }],
    });
    assert.ok(
      problems.includes("src/model/m.ts imports src/circuit/emit-circuit.ts: model may not depend on circuit"),
      problems.join("\n"),
    );
    assert.ok(problems.some((p) => p.startsWith("serving entry src/main.ts loads the offline side")));
  });
});

describe("the import graph", () => {
  it("reads static, re-exported, type-only and dynamic imports, and nothing in comments or strings", () => {
    const source = [
      'import { a } from "./a.js";',
      'import type { B } from "../model/b.js";',
      'import { type C, type D } from "./c.js";',
      'import { type E, f } from "./e.js";',
      'export { g } from "./g.js";',
      'export type { H } from "./h.js";',
      'import * as snarkjs from "snarkjs";',
      'import "@scope/pkg/side-effect";',
      'import { readFile } from "node:fs/promises";',
      'type I = import("./i.js").I;',
      'const later = () => import("../circuit/compile.js");',
      '// import { no } from "./comment.js";',
      'const text = "import(\\"./string.js\\")";',
    ].join("\n");
    const edges = fileImports("src/prover/x.ts", source).map(
      (e) => `${e.to}${e.typeOnly ? " type" : ""}${e.dynamic ? " dynamic" : ""}`,
    );
    assert.deepEqual(edges, [
      "src/prover/a.ts",
      "src/model/b.ts type",
      "src/prover/c.ts type",
      "src/prover/e.ts",
      "src/prover/g.ts",
      "src/prover/h.ts type",
      "snarkjs",
      "@scope/pkg",
      "node:fs/promises",
      "src/prover/i.ts type",
      "src/circuit/compile.ts dynamic",
    ]);
  });

  it("an import of a file that does not exist is reported", () => {
    const g: ImportGraph = {
      files: ["src/model/a.ts"],
      edges: [{ from: "src/model/a.ts", to: "src/model/gone.ts", typeOnly: false, dynamic: false }],
    };
    assert.deepEqual(checkDependencyRules(g, { entries: [] }), [
      "src/model/a.ts imports src/model/gone.ts, which does not exist",
    ]);
  });
});
