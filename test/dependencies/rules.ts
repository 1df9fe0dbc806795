/**
 * The layout rule: src/'s folders are the pipeline's stages, and a stage imports only the stages the
 * table below allows. Serving (model → witness → prover → chain → api, composed by compose.ts and run
 * by the CLI) sits on core and config; the offline side (onnx/, training/, the compiler in circuit/)
 * stands beside it and is never loaded by a gateway or worker process.
 */
import { isPackage, type ImportEdge, type ImportGraph } from "./import-graph.js";

/** Each stage and the stages its files may import (type-only imports included). */
export const ALLOWED: Readonly<Record<string, readonly string[]>> = {
  core: [],
  config: ["core"],
  // Groth16 pieces both sides use: the field, snarkjs's curve, the vkey hash, setup.json
  snark: ["core"],
  model: ["core", "config"],
  // offline: ONNX in and out, training, the compiler
  onnx: ["core", "model"],
  training: ["core", "config", "model", "onnx"],
  circuit: ["core", "config", "model", "onnx", "snark"],
  // serving
  store: ["core", "config"],
  jobs: ["core", "config"],
  witness: ["core", "config", "model", "snark"],
  prover: ["core", "config", "model", "snark", "witness", "store", "jobs"],
  chain: ["core", "config", "model", "snark", "witness", "prover", "store", "jobs"],
  api: ["core", "config", "model", "snark", "witness", "prover", "store", "jobs", "chain"],
  compose: ["core", "config", "model", "snark", "witness", "prover", "store", "jobs", "chain", "api"],
  // the verbs: serving and the offline tools
  cli: [
    "core",
    "config",
    "model",
    "snark",
    "witness",
    "prover",
    "store",
    "jobs",
    "chain",
    "api",
    "compose",
    "onnx",
    "training",
    "circuit",
  ],
  main: ["core", "snark", "cli"],
};

/** Imports the table does not allow but that stay for now; each must be type-only, and says why. */
export interface Exception {
  readonly from: string;
  readonly to: string;
  readonly why: string;
}

export const EXCEPTIONS: readonly Exception[] = [];

/**
 * What a process that serves must never load: the offline stages, and the packages only they import
 * (snarkjs, which serving needs, loads r1csfile itself; what is checked is that our code does not).
 */
export const OFFLINE_STAGES: readonly string[] = ["onnx", "training", "circuit"];
export const OFFLINE_PACKAGES: readonly string[] = ["circom2", "r1csfile"];

/**
 * Where serving processes start. `proofgate serve` and `worker` run main.ts, which loads the verb
 * table statically (every verb's module, not only the one run): so main.ts counts with its static
 * imports, and serve.ts and worker.ts with their dynamic ones too. An offline verb loads its library
 * with `import()` inside its action.
 */
export const SERVING_ENTRIES: readonly { readonly file: string; readonly dynamic: boolean }[] = [
  { file: "src/main.ts", dynamic: false },
  { file: "src/cli/serve.ts", dynamic: true },
  { file: "src/cli/worker.ts", dynamic: true },
];

/** The stage of a src/ file: its folder, or compose / main for the two files at the top. */
export function stageOf(file: string): string {
  const parts = file.split("/");
  return parts.length > 2 ? parts[1] : parts[1].replace(/\.ts$/, "");
}

export interface RuleOptions {
  readonly allowed?: Readonly<Record<string, readonly string[]>>;
  readonly exceptions?: readonly Exception[];
  readonly entries?: typeof SERVING_ENTRIES;
}

/** Every broken rule, one line each; empty when the graph keeps the layout. */
export function checkDependencyRules(graph: ImportGraph, options: RuleOptions = {}): string[] {
  const allowed = options.allowed ?? ALLOWED;
  const exceptions = options.exceptions ?? EXCEPTIONS;
  const entries = options.entries ?? SERVING_ENTRIES;
  const problems: string[] = [];
  const excepted = (e: ImportEdge) => e.typeOnly && exceptions.some((x) => x.from === e.from && x.to === e.to);
  const local = graph.edges.filter((e) => !isPackage(e.to));

  for (const e of local)
    if (!graph.files.includes(e.to)) problems.push(`${e.from} imports ${e.to}, which does not exist`);

  // (b) each import between stages is one the table allows
  const stageEdges = new Map<string, Set<string>>();
  for (const e of local) {
    const from = stageOf(e.from);
    const to = stageOf(e.to);
    if (from === to || excepted(e)) continue;
    if (!(from in allowed)) problems.push(`${e.from}: stage ${from} is not in the table`);
    else if (!allowed[from].includes(to)) problems.push(`${e.from} imports ${e.to}: ${from} may not depend on ${to}`);
    if (!stageEdges.has(from)) stageEdges.set(from, new Set());
    stageEdges.get(from)!.add(to);
  }

  // (a) no cycle between stages, whatever the table says
  for (const cycle of stageCycles(stageEdges))
    problems.push(`stages depend on each other in a cycle: ${cycle.join(" → ")}`);

  // (c) serving entry points never reach the offline side, at run time
  for (const entry of entries) {
    const via = new Map<string, string>([[entry.file, ""]]);
    const queue = [entry.file];
    while (queue.length > 0) {
      const file = queue.shift()!;
      for (const e of graph.edges) {
        if (e.from !== file || e.typeOnly || (e.dynamic && !entry.dynamic) || via.has(e.to)) continue;
        via.set(e.to, file);
        const offline = isPackage(e.to) ? OFFLINE_PACKAGES.includes(e.to) : OFFLINE_STAGES.includes(stageOf(e.to));
        if (offline) {
          const path = [e.to];
          for (let at = file; at; at = via.get(at)!) path.unshift(at);
          problems.push(`serving entry ${entry.file} loads the offline side: ${path.join(" → ")}`);
        } else if (!isPackage(e.to)) queue.push(e.to);
      }
    }
  }
  return problems;
}

/** One cycle per strongly connected group of stages (Tarjan), as a closed path. */
function stageCycles(edges: ReadonlyMap<string, ReadonlySet<string>>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const cycles: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, index.size);
    low.set(v, index.get(v)!);
    stack.push(v);
    for (const w of edges.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (stack.includes(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const group: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      group.unshift(w);
    } while (w !== v);
    if (group.length > 1) cycles.push(closedPath(group, edges));
  };
  for (const v of edges.keys()) if (!index.has(v)) visit(v);
  return cycles;
}

/** A path from the group's first stage back to itself through the group (breadth-first). */
function closedPath(group: readonly string[], edges: ReadonlyMap<string, ReadonlySet<string>>): string[] {
  const start = group[0];
  const via = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const v = queue.shift()!;
    for (const w of edges.get(v) ?? []) {
      if (!group.includes(w)) continue;
      if (w === start) {
        const inner: string[] = [];
        for (let at = v; at !== start; at = via.get(at)!) inner.unshift(at);
        return [start, ...inner, start];
      }
      if (!via.has(w)) {
        via.set(w, v);
        queue.push(w);
      }
    }
  }
  return [...group, start];
}
