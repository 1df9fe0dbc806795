/**
 * A snarkjs Groth16 proof as the contracts take it: eight words, A, then B with each coordinate's two
 * halves swapped (the EVM pairing precompile reads Fp2 elements imaginary part first), then C.
 */
export interface Groth16ProofJson {
  readonly pi_a: readonly string[];
  readonly pi_b: readonly (readonly string[])[];
  readonly pi_c: readonly string[];
}

export function proofWords(proof: Groth16ProofJson): bigint[] {
  const [a, b, c] = [proof.pi_a, proof.pi_b, proof.pi_c];
  return [a[0], a[1], b[0][1], b[0][0], b[1][1], b[1][0], c[0], c[1]].map(BigInt);
}
