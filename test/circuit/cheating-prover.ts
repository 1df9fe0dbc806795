/**
 * A cheating prover: a compiled model's own witness program with dishonest hints in some templates (or
 * in the emitted source) and the witness generator's assertions removed, so it produces a complete
 * witness for a false statement. Every such witness must violate the honest constraint system, and
 * its proof must not verify.
 */
import { mkdtemp, readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import * as snarkjs from "snarkjs";
import { compileCircom } from "../../src/circuit/compile-circom.js";
import { emitCircuit } from "../../src/circuit/emit-circuit.js";
import { loadConstraintSystem, type ConstraintSystem } from "../../src/circuit/r1cs.js";
import type { CompiledModel } from "../../src/prover/compiled-model.js";
import type { ProofFile } from "../../src/prover/prove.js";
import { CircuitWitness } from "../../src/witness/witness-calculator.js";
import { encodeWtns } from "../../src/witness/wtns-file.js";

const require = createRequire(import.meta.url);
const circomlib = join(dirname(require.resolve("circomlib/package.json")), "circuits");

export interface Cheat {
  /** Replacement template files, by include path ("circuits/argmax.circom"). */
  readonly templates?: Readonly<Record<string, string>>;
  /** An edit of the emitted witness program itself. */
  readonly source?: (source: string) => string;
}

/** Range checks that compute their hints without asserting: bits that need not sum to the input, an inverse of 0. */
async function uncheckedRanges(): Promise<Record<string, string>> {
  return {
    "circomlib/bitify.circom": (await readFile(join(circomlib, "bitify.circom"), "utf8")).replace("lc1 === in;", ""),
    "circuits/in_range.circom": (await readFile("circuits/in_range.circom", "utf8")).replace(
      "distance[excluded - 1] * inverse === 1;",
      "",
    ),
  };
}

export async function cheatingWitness(compiled: CompiledModel, cheat: Cheat): Promise<CircuitWitness> {
  const emitted = emitCircuit(compiled.model, {
    modelIdField: BigInt(compiled.manifest.model_id_field),
    output: compiled.manifest.output,
  });
  const out = await compileCircom({
    source: cheat.source ? cheat.source(emitted.witnessSource) : emitted.witnessSource,
    name: "cheat",
    outDir: await mkdtemp(join(tmpdir(), "pg-cheat-")),
    targets: ["wasm"],
    optimization: "O0", // as the real witness program, so the compiled model's witness map applies
    templateOverrides: { ...(await uncheckedRanges()), ...cheat.templates },
  });
  return CircuitWitness.load(out.wasm, join(compiled.dir, compiled.manifest.files.witness_map));
}

export function honestConstraints(compiled: CompiledModel): Promise<ConstraintSystem> {
  return loadConstraintSystem(join(compiled.dir, compiled.manifest.files.r1cs));
}

/** A Groth16 proof made from a (forged) witness with the model's proving key. */
export async function proofFromWitness(
  compiled: CompiledModel,
  values: bigint[],
  template: ProofFile,
): Promise<ProofFile> {
  const { proof, publicSignals } = await snarkjs.groth16.prove(compiled.zkeyPath, {
    type: "mem",
    data: encodeWtns(values),
  });
  return { ...template, proof, public_signals: publicSignals };
}
