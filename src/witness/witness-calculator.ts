/**
 * Witness computation in-process from circom's WebAssembly, built once per circuit and reused. The
 * witness program may number its signals differently from the constraint program (see
 * src/circuit/emit-circuit.ts); `map[k]` is the witness-program index of constraint-program signal k.
 */
import { readFile } from "node:fs/promises";
import { WitnessCalculatorBuilder, type WitnessCalculator } from "circom_runtime";
import { encodeWtns } from "./wtns-file.js";

export type CircuitInput = Record<string, bigint | readonly bigint[] | readonly (readonly bigint[])[]>;

export class CircuitWitness {
  /** circom's wasm instance keeps the witness being built in its memory: one computation at a time. */
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly calculator: WitnessCalculator,
    private readonly map: Uint32Array | null,
  ) {}

  static async load(wasmPath: string, mapPath?: string): Promise<CircuitWitness> {
    const calculator = await WitnessCalculatorBuilder(await readFile(wasmPath));
    if (!mapPath) return new CircuitWitness(calculator, null);
    const bytes = await readFile(mapPath);
    return new CircuitWitness(
      calculator,
      new Uint32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength)),
    );
  }

  /** Every signal's value in the constraint program's order (index 0 is the constant 1). */
  async values(input: CircuitInput): Promise<bigint[]> {
    const run = this.queue.then(() => this.calculator.calculateWitness(input as Record<string, unknown>, true));
    this.queue = run.catch(() => undefined);
    const raw = await run;
    return this.map ? Array.from(this.map, (i) => raw[i]) : raw;
  }

  /** The witness as a .wtns file in memory, as snarkjs's prover takes it. */
  async wtns(input: CircuitInput): Promise<Uint8Array> {
    return encodeWtns(await this.values(input));
  }
}
