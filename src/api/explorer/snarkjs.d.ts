/**
 * What the explorer calls of snarkjs's browser bundle (snarkjs.min.js, which sets a global `snarkjs`
 * when the page loads it on demand). Types only, for tsc -p src/api/explorer; never served. A module,
 * not a `declare global`, so the gateway's own type check (which sees every .ts under src/) gets no
 * browser global.
 */
export interface Snarkjs {
  groth16: {
    /** true when `proof` is a Groth16 proof of `publicSignals` under `vkey` (snarkjs's verification key JSON). */
    verify(vkey: unknown, publicSignals: readonly string[], proof: unknown): Promise<boolean>;
  };
}

/** globalThis, with the bundle's global once it has run. */
export type WithSnarkjs = typeof globalThis & { snarkjs?: Snarkjs };
