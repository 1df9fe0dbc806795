/**
 * bench/zk: constraints, witness time, proving time (median of 5, in-process), verification time and
 * peak memory for the student's decoding step, the spam classifier, and an MNIST-shaped 784-56-10
 * float MLP that the bench writes as PyTorch would export it and compiles itself.
 * Run: node --import tsx bench/zk.ts   (each model is measured in a child process, for its own peak RSS)
 */
import { spawnSync } from "node:child_process";
import { mkdir } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import * as snarkjs from "snarkjs";
import { median } from "../src/core/numbers.js";
import { compileModel } from "../src/circuit/compile.js";
import { releaseSnarkWorkers } from "../src/snark/snark-workers.js";
import { quantizeInput } from "../src/model/quantize.js";
import { loadCompiledModel } from "../src/prover/compiled-model.js";
import { prove } from "../src/prover/prove.js";
import { buildMnistShapedMlp, mnistShapedCalibration } from "../test/fixtures/mnist-mlp.js";
import { machineLine, markdownTable, writeSection } from "./report.js";

const RUNS = 5;
const MNIST_DIR = "data/bench/mnist-784-56-10";

interface Measured {
  name: string;
  constraints: number;
  publicSignals: number;
  compileSeconds?: number;
  witnessMs: number;
  proveMs: number;
  verifyMs: number;
  peakRssMb: number;
}

async function measure(name: string): Promise<Measured> {
  let dir: string;
  let compileSeconds: number | undefined;
  let sample: () => number[];
  if (name === "mnist") {
    await mkdir("data/bench", { recursive: true });
    const t0 = performance.now();
    const compiled = await compileModel({
      onnx: buildMnistShapedMlp(1),
      outDir: MNIST_DIR,
      calibration: mnistShapedCalibration(256, 2),
    });
    compileSeconds = compiled.reused ? undefined : (performance.now() - t0) / 1000;
    dir = MNIST_DIR;
    const images = mnistShapedCalibration(RUNS + 1, 3);
    let k = 0;
    sample = () => quantizeInput(compiled.manifest.input as never, images[k++ % images.length]);
  } else if (name === "student") {
    dir = "artifacts/models/pg-student";
    let k = 0;
    sample = () => Array.from({ length: 16 }, (_, i) => (i * 37 + k++ * 11) % 319);
  } else {
    dir = "artifacts/models/pg-spam";
    let k = 0;
    sample = () => Array.from({ length: 1024 }, (_, i) => ((i + k) % 9 === 0 ? 1 : 0), k++);
  }
  const compiled = await loadCompiledModel(dir);
  // one warm-up proof: the first loads the curve's wasm and the proving key
  await prove(compiled, { sample: sample() });
  const witness: number[] = [];
  const proving: number[] = [];
  const verifying: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const file = await prove(compiled, { sample: sample() });
    witness.push(file.timings.witness_ms);
    proving.push(file.timings.prove_ms);
    const t0 = performance.now();
    if (!(await snarkjs.groth16.verify(compiled.vkey, file.public_signals, file.proof)))
      throw new Error(`${name}: a proof did not verify`);
    verifying.push(performance.now() - t0);
  }
  await releaseSnarkWorkers();
  return {
    name,
    constraints: compiled.manifest.constraints,
    publicSignals: compiled.manifest.public_signals.length,
    compileSeconds,
    witnessMs: median(witness)!,
    proveMs: median(proving)!,
    verifyMs: median(verifying)!,
    peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
  };
}

const only = process.argv[2];
if (only) {
  console.log(JSON.stringify(await measure(only)));
} else {
  const rows: Measured[] = [];
  for (const name of ["student", "spam", "mnist"]) {
    const child = spawnSync(process.execPath, ["--import", "tsx", fileURLToPath(import.meta.url), name], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "inherit"],
    });
    if (child.status !== 0) throw new Error(`bench/zk ${name} failed`);
    rows.push(JSON.parse(child.stdout.trim().split("\n").at(-1)!) as Measured);
  }
  const label: Record<string, string> = {
    student: "pg-student decoding step",
    spam: "pg-spam classifier",
    mnist: "784-56-10 float MLP (PyTorch-style ONNX)",
  };
  const table = markdownTable(
    ["circuit", "constraints", "public signals", "witness ms", "prove ms (median of 5)", "verify ms", "peak RSS MB"],
    rows.map((r) => [
      label[r.name],
      r.constraints,
      r.publicSignals,
      r.witnessMs.toFixed(1),
      r.proveMs.toFixed(0),
      r.verifyMs.toFixed(0),
      r.peakRssMb,
    ]),
  );
  const mnist = rows.find((r) => r.name === "mnist")!;
  await writeSection(
    "zk",
    `## Proofs (bench/zk)\n\n${machineLine()}. Groth16 on bn128 with snarkjs, in-process; witness from the circuit's wasm.\n\n${table}\n\nTargets: 784-56-10 in ≤ 12,000 constraints including the commitment binding its 784 inputs (${mnist.constraints}), proven in ≤ 1 s (${mnist.proveMs.toFixed(0)} ms); one student decoding step proven in ≤ 1 s.\n`,
  );
}
