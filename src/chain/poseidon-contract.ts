/**
 * An on-chain Poseidon equal to circomlibjs's `buildPoseidon()` (0.1.7) for 1..16 inputs, as generated
 * Solidity. Why not circomlibjs's own `poseidonContract.createCode`: it stops at 6 inputs (its
 * stack-based EVM generator fails an assertion beyond that), and the contracts hash 7 words (model
 * field, nonce and 5 packed words) to check a proof's commitment.
 *
 * The permutation is circomlibjs's reference one (poseidon_reference.js): state [0, ...inputs],
 * t = n + 1, N_ROUNDS_F = 8 full rounds split 4 + 4 around N_ROUNDS_P[t - 2] partial rounds, round r
 * adding C[t - 2][r·t + i], the x⁵ S-box, then the MDS matrix M[t - 2] (state'[i] = Σ_j M[i][j]·state[j]).
 * The constants are read from circomlibjs's poseidon_constants.json; two exact rewrites keep the
 * contract small and cheap without changing a single output:
 *
 *  - Partial-round constants are folded: in a partial round only state[0] goes through the S-box, so
 *    the constants of lanes 1..t-1 commute with it and are pushed through M into the next round. Each
 *    partial round keeps one scalar constant; the carry lands in the first full round after them.
 *    The constants are one `bytes constant` of 1 + 8·t + N_ROUNDS_P words (the modulus first; 4,128
 *    bytes for t = 8), copied to memory once per call.
 *  - Partial rounds run k at a time: writing M' for M with column 0 zeroed, a folded partial round is
 *    u ↦ M'·u + M[·][0]·y with y = S-box(u[0] + c), so k rounds are u_k = M'^k·u_0 + Σ_l M'^(k-1-l)·M[·][0]·y_l,
 *    and each y_m needs only row 0 of M'^m. A block costs (k-1)(t-1) + k(k-1)/2 + t(t-1) + t·k
 *    multiplications instead of k·t² (for t = 8, k = 8: 197 instead of 512). The matrices depend on t
 *    and k only, so they are compiled in once as PUSH32 immediates, and the block runs in a loop.
 *    Where that code would not fit EIP-170 (12 inputs and up), partial rounds go through the full-round matrix
 *    code instead ("shared" layout).
 *
 * All arithmetic is inline assembly (`mulmod`/`addmod`, sums of up to five products added lazily) on
 * fixed memory addresses just past the constants, which Solidity places at 0x80 (the contract reverts
 * rather than compute anything if it ever does not). With solc 0.8.37 every n was checked against
 * circomlibjs under both the legacy and the IR pipeline; test/chain/poseidon-contract.test.ts covers
 * n = 1, 2, 6, 7, 8 and 16 with the project's compiler settings.
 * Inputs must be canonical field elements: one ≥ the BN254 scalar field's modulus reverts with
 * `InputNotInField(index)` rather than being reduced (circomlibjs would reduce it), so no two distinct
 * calldata inputs share a hash and a caller cannot smuggle an alias of a committed value.
 */
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { z } from "zod";
import { readArtifactSync } from "../core/read-artifact.js";
import { FIELD_PRIME } from "../snark/field.js";

export const POSEIDON_N_ROUNDS_F = 8;
/** circomlibjs's partial-round counts, indexed by t - 2. */
export const POSEIDON_N_ROUNDS_P: readonly number[] = [56, 57, 56, 60, 60, 63, 64, 63, 60, 66, 60, 65, 70, 60, 64, 68];
/** EIP-170's cap on deployed code. */
const MAX_CODE = 24_576;
/** What the layout choice leaves free under MAX_CODE for its size estimate's error (the IR pipeline's code is ~8% larger). */
const CODE_MARGIN = 2_500;

const p = FIELD_PRIME;

interface PoseidonConstants {
  /** C[t-2]: (N_ROUNDS_F + N_ROUNDS_P[t-2])·t round constants. */
  readonly C: readonly (readonly bigint[])[];
  /** M[t-2]: the t×t MDS matrix. */
  readonly M: readonly (readonly (readonly bigint[])[])[];
}

let constantsCache: PoseidonConstants | undefined;

/** circomlibjs's own constants file (its `exports` map hides src/, so it is located by path). */
function poseidonConstants(): PoseidonConstants {
  if (!constantsCache) {
    const require = createRequire(import.meta.url);
    const main = require.resolve("circomlibjs"); // <pkg>/build/main.cjs
    const file = join(dirname(main), "..", "src", "poseidon_constants.json");
    const field = z
      .string()
      .regex(/^(0x[0-9a-fA-F]+|[0-9]+)$/)
      .transform((x) => BigInt(x));
    constantsCache = readArtifactSync(
      file,
      z.object({ C: z.array(z.array(field)), M: z.array(z.array(z.array(field))) }),
    );
  }
  return constantsCache;
}

type Matrix = bigint[][];

function matMul(a: Matrix, b: Matrix): Matrix {
  const n = a.length;
  return a.map((row) => Array.from({ length: n }, (_, j) => row.reduce((acc, x, l) => (acc + x * b[l][j]) % p, 0n)));
}

function matVec(a: Matrix, v: readonly bigint[]): bigint[] {
  return a.map((row) => row.reduce((acc, x, j) => (acc + x * v[j]) % p, 0n));
}

const identity = (n: number): Matrix =>
  Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (i === j ? 1n : 0n)));

/** Multiplications in one block of k partial rounds (see the file comment). */
function blockTerms(t: number, k: number): number {
  return (k - 1) * (t - 1) + (k * (k - 1)) / 2 + t * (t - 1) + t * k;
}

export type PoseidonLayout = { readonly kind: "block"; readonly k: number } | { readonly kind: "shared" };

/**
 * How partial rounds are computed for t: blocks of k (a divisor of N_ROUNDS_P, picked for the least
 * gas by a rough model) when the code fits EIP-170 with margin, the full-round matrix code otherwise.
 */
export function poseidonLayout(nInputs: number): PoseidonLayout {
  const t = checkInputs(nInputs) + 1;
  const nP = POSEIDON_N_ROUNDS_P[t - 2];
  // ~42 bytes of code per unrolled product (PUSH32 coefficient, load, mulmod, add), 32 per constant word.
  const fixedBytes = 1_500 + 42 * (t * t + t) + 32 * (POSEIDON_N_ROUNDS_F * t + nP) + 60 * t;
  let best: { k: number; gas: number } | undefined;
  for (let k = 1; k <= nP; k++) {
    if (nP % k !== 0) continue;
    if (fixedBytes + 42 * blockTerms(t, k) + 60 * k > MAX_CODE - CODE_MARGIN) continue;
    const gas = (nP / k) * (23 * blockTerms(t, k) + 45 * k + 12 * t + 40);
    if (!best || gas < best.gas) best = { k, gas };
  }
  return best ? { kind: "block", k: best.k } : { kind: "shared" };
}

function checkInputs(nInputs: number): number {
  if (!Number.isInteger(nInputs) || nInputs < 1 || nInputs > POSEIDON_N_ROUNDS_P.length) {
    throw new RangeError(`Poseidon takes 1 to ${POSEIDON_N_ROUNDS_P.length} inputs, not ${nInputs}`);
  }
  return nInputs;
}

const hex = (x: number): string => `0x${x.toString(16)}`;
const word = (x: bigint): string => `0x${x.toString(16).padStart(64, "0")}`;

/** One product term of a dot product: coefficient × the reduced field element stored at addr. */
interface Term {
  readonly coef: bigint;
  readonly addr: number;
}

/**
 * A Yul statement setting `a` to Σ coef·mem[addr] mod p, reduced (< p). Products (each < p) are summed
 * with `add` in groups of at most five (< 5p < 2^256), the groups joined with `addmod`; the sums nest
 * to the right, which Yul evaluates first, so the stack stays shallow.
 */
function dot(terms: readonly Term[], lit: (c: bigint) => string): string {
  const live = terms.filter((x) => x.coef % p !== 0n);
  const product = ({ coef, addr }: Term): string =>
    coef === 1n ? `mload(${hex(addr)})` : `mulmod(${lit(coef)}, mload(${hex(addr)}), p)`;
  const nest = (parts: readonly string[], op: (a: string, b: string) => string): string =>
    parts.reduceRight((acc, part) => (acc === "" ? part : op(part, acc)), "");
  if (live.length === 0) return "let a := 0";
  if (live.length === 1) return `let a := ${product(live[0])}`;
  const groups: string[][] = [];
  for (let i = 0; i < live.length; i += 5) groups.push(live.slice(i, i + 5).map(product));
  const addmod = (a: string, b: string) => `addmod(${a}, ${b}, p)`;
  const add = (a: string, b: string) => `add(${a}, ${b})`;
  if (groups.length === 1) return `let a := ${addmod(groups[0][0], nest(groups[0].slice(1), add))}`;
  return `let a := ${nest(
    groups.map((g) => nest(g, add)),
    addmod,
  )}`;
}

/** Statements computing x⁵ mod p into mem[dst], for x < 2p given as a Yul expression. */
function sbox(x: string, dst: number): Unit {
  return {
    weight: 3,
    lines: [`let x := ${x}`, "let x2 := mulmod(x, x, p)", `mstore(${hex(dst)}, mulmod(mulmod(x2, x2, p), x, p))`],
  };
}

/** A scoped piece of straight-line Yul; weight counts its mulmods. */
interface Unit {
  readonly weight: number;
  readonly lines: readonly string[];
}

/**
 * Products per straight-line stretch: see `guarded`. With solc 0.8.37, 8 and 12 compile every t in
 * both the legacy and the IR pipeline; 16 fails some t under IR.
 */
const MAX_STRETCH = 8;

/**
 * Units packed into `if p { … }` blocks of at most MAX_STRETCH products (a unit is never split).
 * The test is always true, but p comes from memory so the optimizer must keep the jump: solc's
 * stack layout generator fails ("too deep in the stack") on long straight-line runs of mulmods
 * sharing `p`, and copes with short basic blocks. Each guard costs ~20 gas.
 */
function guarded(units: readonly Unit[], indent: string): string[] {
  const out: string[] = [];
  let group: Unit[] = [];
  let weight = 0;
  const flush = () => {
    if (group.length === 0) return;
    out.push(`${indent}if p {`);
    for (const u of group) out.push(`${indent}    {`, ...u.lines.map((l) => `${indent}        ${l}`), `${indent}    }`);
    out.push(`${indent}}`);
    group = [];
    weight = 0;
  };
  for (const u of units) {
    if (weight + u.weight > MAX_STRETCH) flush();
    group.push(u);
    weight += u.weight;
  }
  flush();
  return out;
}

/**
 * Solidity source of `PoseidonT{n+1}`: `hash(uint256[n] calldata inputs)` returns circomlibjs's
 * `buildPoseidon()(inputs)`, reverting with `InputNotInField(i)` when inputs[i] ≥ the field modulus.
 */
export function poseidonSolidity(nInputs: number): string {
  const n = checkInputs(nInputs);
  const t = n + 1;
  const nF = POSEIDON_N_ROUNDS_F;
  const nP = POSEIDON_N_ROUNDS_P[t - 2];
  const { C: allC, M: allM } = poseidonConstants();
  const C = allC[t - 2];
  const M: Matrix = allM[t - 2].map((row) => [...row]);
  if (C.length !== (nF + nP) * t || M.length !== t)
    throw new Error(`circomlibjs constants for t=${t} have an unexpected shape`);
  const layout = poseidonLayout(n);

  // Word 0 is the modulus: read from memory, `p` stays a stack variable (as a literal the optimizer
  // would push it as 33 bytes of code at every use). Then the round constants: 4 full rounds (t each),
  // nP folded partial rounds (1 each), 4 full rounds.
  const rc: bigint[] = [p];
  for (let r = 0; r < nF / 2; r++) rc.push(...C.slice(r * t, (r + 1) * t));
  let carry: bigint[] = Array(t).fill(0n);
  for (let r = nF / 2; r < nF / 2 + nP; r++) {
    const e = C.slice(r * t, (r + 1) * t).map((c, i) => (c + carry[i]) % p);
    rc.push(e[0]);
    carry = matVec(M, [0n, ...e.slice(1)]);
  }
  for (let r = nF / 2 + nP; r < nF + nP; r++) {
    const c = C.slice(r * t, (r + 1) * t);
    rc.push(...(r === nF / 2 + nP ? c.map((x, i) => (x + carry[i]) % p) : c));
  }

  // Memory: Solidity puts `bytes memory rc` at 0x80 (its length) with its words from 0xa0; scratch follows.
  const RC = 0xc0; // the first round's constants (0xa0 holds the modulus)
  const PART_START = RC + 32 * (nF / 2) * t;
  const PART_END = PART_START + 32 * nP;
  const RC_END = PART_END + 32 * (nF / 2) * t;
  const S = RC_END; // the state
  const X = S + 32 * t; // after constants and S-boxes (full rounds); the new state's lanes 1.. (blocks)
  const Y = X + 32 * t; // a block's S-box outputs
  const s = (i: number) => S + 32 * i;
  const x = (i: number) => X + 32 * i;
  const y = (i: number) => Y + 32 * i;
  const rcAt = (i: number) => (i === 0 ? "mload(cp)" : `mload(add(cp, ${hex(32 * i)}))`);

  // A coefficient used more than once is written as c, c + p, …, c + 4p in turn (mulmod reduces any
  // of them): the legacy pipeline's constant optimizer would otherwise swap a PUSH32 repeated in the
  // hot loop for a codecopy sequence.
  const uses = new Map<bigint, number>();
  const lit = (c: bigint): string => {
    const u = uses.get(c) ?? 0;
    uses.set(c, u + 1);
    return word(c + BigInt(u % 5) * p);
  };

  const I2 = " ".repeat(12);
  const I3 = " ".repeat(16);
  const I4 = " ".repeat(20);
  const I5 = " ".repeat(24);
  const body: string[] = [];
  const emit = (...lines: string[]) => body.push(...lines);

  emit(`${I2}if iszero(eq(rc, 0x80)) { revert(0, 0) } // the fixed addresses below assume it`);
  emit(`${I2}let p := mload(0xa0)`);
  emit(`${I2}// Every "if p { … }" below is taken: it only cuts the straight-line code short for solc's stack layout.`);
  emit(`${I2}mstore(${hex(s(0))}, 0)`);
  for (let i = 0; i < n; i++) {
    emit(`${I2}{`, `${I3}let v := calldataload(add(inputs, ${hex(32 * i)}))`);
    emit(
      `${I3}if iszero(lt(v, p)) {`,
      `${I4}mstore(0, notInField)`,
      `${I4}mstore(4, ${i})`,
      `${I4}revert(0, 0x24)`,
      `${I3}}`,
    );
    emit(`${I3}mstore(${hex(s(i + 1))}, v)`, `${I2}}`);
  }

  // Full round, first half: constants and S-boxes, S → X. Second half: MDS, X → S.
  const fullArk: Unit[] = Array.from({ length: t }, (_, i) => sbox(`add(mload(${hex(s(i))}), ${rcAt(i)})`, x(i)));
  const mdsRow = (i: number): Unit => ({
    weight: t,
    lines: [
      dot(
        M[i].map((coef, j) => ({ coef, addr: x(j) })),
        lit,
      ),
    ],
  });
  const mds: Unit[] = Array.from({ length: t }, (_, i) => mdsRow(i)).map((u, i) => ({
    weight: u.weight,
    lines: [...u.lines, `mstore(${hex(s(i))}, a)`],
  }));

  emit(`${I2}let cp := ${hex(RC)}`);
  emit(`${I2}for { } 1 { } {`);
  if (layout.kind === "block") {
    const k = layout.k;
    const Mp: Matrix = M.map((row) => [0n, ...row.slice(1)]);
    const powers: Matrix[] = [identity(t)];
    for (let m = 1; m <= k; m++) powers.push(matMul(powers[m - 1], Mp));
    const col0 = M.map((row) => row[0]);
    const v = powers.map((pw) => matVec(pw, col0)); // v[d] = M'^d · M[·][0]

    emit(
      `${I3}// full round: constants and S-boxes (S → X)`,
      ...guarded(fullArk, I3),
      `${I3}cp := add(cp, ${hex(32 * t)})`,
    );
    emit(`${I3}if eq(cp, ${hex(RC_END)}) { break }`);
    emit(`${I3}// MDS (X → S)`, ...guarded(mds, I3));
    emit(`${I3}if eq(cp, ${hex(PART_START)}) {`);
    emit(
      `${I4}// the ${nP} partial rounds, ${k} per iteration: S-box outputs in Y, new state in S[0] and X, copied to S`,
    );
    emit(`${I4}for { } lt(cp, ${hex(PART_END)}) { cp := add(cp, ${hex(32 * k)}) } {`);
    const units: Unit[] = [sbox(`add(mload(${hex(s(0))}), mload(cp))`, y(0))];
    for (let m = 1; m < k; m++) {
      const terms: Term[] = [];
      for (let j = 1; j < t; j++) terms.push({ coef: powers[m][0][j], addr: s(j) });
      for (let l = 0; l < m; l++) terms.push({ coef: v[m - 1 - l][0], addr: y(l) });
      const box = sbox(`add(a, ${rcAt(m)})`, y(m));
      units.push({ weight: terms.length + box.weight, lines: [dot(terms, lit), ...box.lines] });
    }
    for (let i = 0; i < t; i++) {
      const terms: Term[] = [];
      for (let j = 1; j < t; j++) terms.push({ coef: powers[k][i][j], addr: s(j) });
      for (let l = 0; l < k; l++) terms.push({ coef: v[k - 1 - l][i], addr: y(l) });
      // Row 0 goes straight to S[0], which no row reads; the others wait in X.
      units.push({ weight: terms.length, lines: [dot(terms, lit), `mstore(${hex(i === 0 ? s(0) : x(i))}, a)`] });
    }
    emit(...guarded(units, I5));
    for (let i = 1; i < t; i++) emit(`${I5}mstore(${hex(s(i))}, mload(${hex(x(i))}))`);
    emit(`${I4}}`, `${I3}}`);
  } else {
    emit(`${I3}switch and(iszero(lt(cp, ${hex(PART_START)})), lt(cp, ${hex(PART_END)}))`);
    emit(
      `${I3}case 0 {`,
      `${I4}// full round: constants and S-boxes (S → X)`,
      ...guarded(fullArk, I4),
      `${I4}cp := add(cp, ${hex(32 * t)})`,
    );
    emit(`${I4}if eq(cp, ${hex(RC_END)}) { break }`, `${I3}}`);
    emit(`${I3}default {`, `${I4}// partial round: constant and S-box on lane 0 only (S → X)`);
    emit(...guarded([sbox(`add(mload(${hex(s(0))}), mload(cp))`, x(0))], I4));
    for (let i = 1; i < t; i++) emit(`${I4}mstore(${hex(x(i))}, mload(${hex(s(i))}))`);
    emit(`${I4}cp := add(cp, 0x20)`, `${I3}}`);
    emit(`${I3}// MDS (X → S)`, ...guarded(mds, I3));
  }
  emit(`${I2}}`);
  emit(`${I2}// last round: only lane 0 of the MDS output is the hash`);
  emit(`${I2}{`, ...mdsRow(0).lines.map((l) => `${I3}${l}`), `${I3}out := a`, `${I2}}`);

  if (rc.slice(1).some((c) => c < 0n || c >= p)) throw new Error("round constants must be reduced"); // the lazy sums rely on it
  const rcHex = rc.map((c) => c.toString(16).padStart(64, "0")).join("");
  const layoutNote =
    layout.kind === "block" ? `partial rounds ${layout.k} at a time` : "partial rounds through the full-round MDS code";
  return `// SPDX-License-Identifier: MIT
// Generated by src/chain/poseidon-contract.ts (poseidonSolidity(${n})): do not edit.
pragma solidity ^0.8.24;

/// @title Poseidon over the BN254 scalar field for ${n} input${n === 1 ? "" : "s"} (t = ${t}), equal to circomlibjs's buildPoseidon()
/// @notice ${nF} full and ${nP} partial rounds with circomlibjs's C[${t - 2}] and M[${t - 2}]; ${layoutNote}.
contract PoseidonT${t} {
    /// @notice inputs[index] is not below the field modulus (it is rejected, not reduced).
    error InputNotInField(uint256 index);

    // The modulus, then the round constants: ${nF / 2}×${t} words, ${nP} folded partial-round words, ${nF / 2}×${t} words.
    bytes internal constant ROUND_CONSTANTS = hex"${rcHex}";

    /// @return out Poseidon(inputs), the state starting as [0, inputs...].
    function hash(uint256[${n}] calldata inputs) external pure returns (uint256 out) {
        bytes memory rc = ROUND_CONSTANTS; // in memory: length at 0x80, modulus at 0xa0, rounds from 0xc0
        bytes4 notInField = InputNotInField.selector;
        assembly {
${body.join("\n")}
        }
    }
}
`;
}
