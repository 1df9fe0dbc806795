// @ts-check
// Poseidon over BN254's scalar field as circomlibjs computes it (its reference implementation: full
// rounds, then partial, then full, with circomlibjs's own round constants and matrices), so the page
// can recompute an input commitment itself. Plain BigInt; test/explorer/poseidon.test.ts holds it to
// circomlibjs.

export const FIELD = 21888242871839275222246405745257275088548364400416034343698204186575808495617n;
const N_ROUNDS_F = 8;
const N_ROUNDS_P = [56, 57, 56, 60, 60, 63, 64, 63, 60, 66, 60, 65, 70, 60, 64, 68];

/** @type {(a: bigint) => bigint} */
const mod = (a) => ((a % FIELD) + FIELD) % FIELD;
/** @type {(a: bigint) => bigint} */
const pow5 = (a) => {
  const a2 = (a * a) % FIELD;
  return (((a2 * a2) % FIELD) * a) % FIELD;
};

/**
 * circomlibjs's poseidon_constants.json: per state width t = 2..17 (index t - 2), the round constants
 * and the MDS matrix, as hex strings.
 * @typedef {{ C: string[][], M: string[][][] }} PoseidonConstants
 */

/**
 * Poseidon of 1..16 field elements (numbers, bigints or decimal strings).
 * @typedef {(inputs: readonly (bigint | number | string)[]) => bigint} Poseidon
 */

/**
 * A Poseidon of 1..16 inputs from circomlibjs's poseidon_constants.json.
 * @param {PoseidonConstants} constants
 * @returns {Poseidon}
 */
export function poseidonFromConstants(constants) {
  /** @type {Map<number, { C: bigint[], M: bigint[][] }>} */
  const tables = new Map();
  /** @param {number} t */
  const table = (t) => {
    let tb = tables.get(t);
    if (!tb) {
      tb = {
        C: constants.C[t - 2].map((c) => BigInt(c)),
        M: constants.M[t - 2].map((row) => row.map((m) => BigInt(m))),
      };
      tables.set(t, tb);
    }
    return tb;
  };
  return function poseidon(inputs) {
    if (inputs.length < 1 || inputs.length > N_ROUNDS_P.length)
      throw new RangeError(`Poseidon takes 1 to ${N_ROUNDS_P.length} inputs, not ${inputs.length}`);
    const t = inputs.length + 1;
    const { C, M } = table(t);
    const nRoundsP = N_ROUNDS_P[t - 2];
    let state = [0n, ...inputs.map((v) => mod(BigInt(v)))];
    for (let r = 0; r < N_ROUNDS_F + nRoundsP; r++) {
      state = state.map((a, i) => (a + C[r * t + i]) % FIELD);
      if (r < N_ROUNDS_F / 2 || r >= N_ROUNDS_F / 2 + nRoundsP) state = state.map(pow5);
      else state[0] = pow5(state[0]);
      state = M.map((row) => row.reduce((acc, m, j) => acc + m * state[j], 0n) % FIELD);
    }
    return state[0];
  };
}
