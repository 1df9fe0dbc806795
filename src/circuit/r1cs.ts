/**
 * A compiled circuit's constraint system (A·w) × (B·w) = C·w over the BN254 scalar field, read from
 * circom's .r1cs. Checking a witness against it directly is how tests show a forged witness fails
 * regardless of what the witness generator would have computed.
 */
import { readR1cs } from "r1csfile";
import { FIELD_PRIME } from "../snark/field.js";

type LinearCombination = ReadonlyMap<number, bigint>;

export interface ConstraintSystem {
  readonly nVars: number;
  readonly nPublic: number;
  readonly constraints: readonly (readonly [LinearCombination, LinearCombination, LinearCombination])[];
}

export async function loadConstraintSystem(path: string): Promise<ConstraintSystem> {
  const file = await readR1cs(path, true, false, true);
  const Fr = file.curve.Fr;
  const lc = (o: Record<string, unknown>) => new Map(Object.entries(o).map(([k, v]) => [Number(k), Fr.toObject(v)]));
  const constraints = file.constraints.map(([a, b, c]) => [lc(a), lc(b), lc(c)] as const);
  await file.curve.terminate();
  return { nVars: file.nVars, nPublic: file.nOutputs + file.nPubInputs, constraints };
}

/** Sizes only, without reading the constraints. */
export async function loadConstraintSystemInfo(
  path: string,
): Promise<{ nConstraints: number; nPublic: number; nVars: number }> {
  const file = await readR1cs(path, false, false, true);
  await file.curve.terminate();
  return { nConstraints: file.nConstraints, nPublic: file.nOutputs + file.nPubInputs, nVars: file.nVars };
}

function evaluate(lc: LinearCombination, witness: readonly bigint[]): bigint {
  let sum = 0n;
  for (const [i, coef] of lc) sum += coef * witness[i];
  return sum % FIELD_PRIME;
}

/** Index of the first constraint the witness violates, or -1 when it satisfies them all. */
export function firstViolatedConstraint(system: ConstraintSystem, witness: readonly bigint[]): number {
  if (witness.length !== system.nVars)
    throw new RangeError(`witness has ${witness.length} values; circuit has ${system.nVars}`);
  if (witness[0] !== 1n) return 0;
  return system.constraints.findIndex(
    ([a, b, c]) => (evaluate(a, witness) * evaluate(b, witness) - evaluate(c, witness)) % FIELD_PRIME !== 0n,
  );
}
