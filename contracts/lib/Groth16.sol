// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @notice Batch verification of Groth16 proofs on BN254 with the EVM precompiles: n proofs of one
/// circuit with n + 3 pairings instead of 4n, by a random linear combination, for a verifying key held
/// in memory (so one registry serves several circuits). Single proofs of a built-in circuit are
/// checked by code generated with the key as constants (src/chain/registry-source.ts), as snarkjs's
/// verifier does, which costs less than reading it from memory.
///
/// Verifying key layout, 14 + 2(m + 1) words for m public signals: alpha (x, y), beta, gamma, delta
/// (G2 points as x.c1, x.c0, y.c1, y.c0, the precompile's order), then IC_0 … IC_m (x, y).
/// Proof layout: A (x, y), B (x.c1, x.c0, y.c1, y.c0), C (x, y): snarkjs's calldata order.
library Groth16 {
    /// The scalar field: public signals and combination weights live here.
    uint256 internal constant R = 21888242871839275222246405745257275088548364400416034343698204186575808495617;
    /// The base field. Proof coordinates are not range-checked here: the precompiles reject any that
    /// is not a canonical point, and a differently encoded A is just another point, which the
    /// pairing check judges like any other (records are keyed by public signals, not proof bytes).
    uint256 internal constant Q = 21888242871839275222246405745257275088696311157297823662689037894645226208583;

    function signalCount(uint256[] memory vk) internal pure returns (uint256) {
        return (vk.length - 16) / 2;
    }

    /// n proofs of one circuit; `signals` holds m signals per proof, proof after proof. With weights
    /// r_0 = 1 and r_i drawn from a hash of every proof and signal (Fiat–Shamir, so a prover cannot
    /// pick them), it checks
    ///   Π e(-r_i A_i, B_i) · e((Σ r_i) alpha, beta) · e(Σ r_i vk_x_i, gamma) · e(Σ r_i C_i, delta) == 1,
    /// which a set holding any invalid proof passes with probability about 2^-127.
    function verifyBatch(uint256[] memory vk, uint256[8][] calldata proofs, uint256[] calldata signals) internal view returns (bool ok) {
        uint256 n = proofs.length;
        uint256 m = signalCount(vk);
        if (n == 0 || vk.length != 16 + 2 * m || signals.length != n * m) return false;
        assembly ("memory-safe") {
            let free := mload(0x40)
            // seed = keccak(all proofs ‖ all signals)
            calldatacopy(free, proofs.offset, mul(n, 0x100))
            calldatacopy(add(free, mul(n, 0x100)), signals.offset, mul(signals.length, 0x20))
            let seed := keccak256(free, add(mul(n, 0x100), mul(signals.length, 0x20)))

            let p := free // (n + 3) pairs × 6 words
            let coef := add(p, mul(add(n, 3), 0xc0)) // m signal weights Σ r_i s_ij
            let t := add(coef, mul(m, 0x20)) // [acc.x, acc.y, term.x, term.y, scalar]
            let c := add(t, 0xa0) // Σ r_i C_i
            let key := add(vk, 0x20)
            for { let j := 0 } lt(j, m) { j := add(j, 1) } { mstore(add(coef, mul(j, 0x20)), 0) }
            let sumR := 0
            ok := 1
            for { let i := 0 } lt(i, n) { i := add(i, 1) } {
                let proof := add(proofs.offset, mul(i, 0x100))
                let r := 1
                if i {
                    mstore(t, seed)
                    mstore(add(t, 0x20), i)
                    r := or(shr(129, keccak256(t, 0x40)), 1)
                }
                sumR := addmod(sumR, r, R)
                for { let j := 0 } lt(j, m) { j := add(j, 1) } {
                    let s := calldataload(add(signals.offset, mul(add(mul(i, m), j), 0x20)))
                    ok := and(ok, lt(s, R))
                    let w := add(coef, mul(j, 0x20))
                    mstore(w, addmod(mload(w), mulmod(r, s, R), R))
                }
                let pair := add(p, mul(i, 0xc0))
                // -r·A
                switch i
                case 0 {
                    mstore(pair, calldataload(proof))
                    mstore(add(pair, 0x20), calldataload(add(proof, 0x20)))
                }
                default {
                    mstore(t, calldataload(proof))
                    mstore(add(t, 0x20), calldataload(add(proof, 0x20)))
                    mstore(add(t, 0x40), r)
                    ok := and(ok, staticcall(gas(), 0x07, t, 0x60, pair, 0x40))
                }
                mstore(add(pair, 0x20), mod(sub(Q, mload(add(pair, 0x20))), Q))
                calldatacopy(add(pair, 0x40), add(proof, 0x40), 0x80)
                // Σ r·C
                switch i
                case 0 {
                    mstore(c, calldataload(add(proof, 0xc0)))
                    mstore(add(c, 0x20), calldataload(add(proof, 0xe0)))
                }
                default {
                    mstore(add(c, 0x40), calldataload(add(proof, 0xc0)))
                    mstore(add(c, 0x60), calldataload(add(proof, 0xe0)))
                    mstore(add(c, 0x80), r)
                    ok := and(ok, staticcall(gas(), 0x07, add(c, 0x40), 0x60, add(c, 0x40), 0x40))
                    ok := and(ok, staticcall(gas(), 0x06, c, 0x80, c, 0x40))
                }
            }
            // (Σ r) alpha, beta
            let pair := add(p, mul(n, 0xc0))
            mstore(t, mload(key))
            mstore(add(t, 0x20), mload(add(key, 0x20)))
            mstore(add(t, 0x40), sumR)
            ok := and(ok, staticcall(gas(), 0x07, t, 0x60, pair, 0x40))
            mstore(add(pair, 0x40), mload(add(key, 0x40)))
            mstore(add(pair, 0x60), mload(add(key, 0x60)))
            mstore(add(pair, 0x80), mload(add(key, 0x80)))
            mstore(add(pair, 0xa0), mload(add(key, 0xa0)))
            // (Σ r) IC_0 + Σ_j coef_j IC_{j+1}, gamma
            pair := add(pair, 0xc0)
            mstore(t, mload(add(key, 0x1c0)))
            mstore(add(t, 0x20), mload(add(key, 0x1e0)))
            mstore(add(t, 0x40), sumR)
            ok := and(ok, staticcall(gas(), 0x07, t, 0x60, t, 0x40))
            for { let j := 0 } lt(j, m) { j := add(j, 1) } {
                let ic := add(key, add(0x200, mul(j, 0x40)))
                mstore(add(t, 0x40), mload(ic))
                mstore(add(t, 0x60), mload(add(ic, 0x20)))
                mstore(add(t, 0x80), mload(add(coef, mul(j, 0x20))))
                ok := and(ok, staticcall(gas(), 0x07, add(t, 0x40), 0x60, add(t, 0x40), 0x40))
                ok := and(ok, staticcall(gas(), 0x06, t, 0x80, t, 0x40))
            }
            mstore(pair, mload(t))
            mstore(add(pair, 0x20), mload(add(t, 0x20)))
            mstore(add(pair, 0x40), mload(add(key, 0xc0)))
            mstore(add(pair, 0x60), mload(add(key, 0xe0)))
            mstore(add(pair, 0x80), mload(add(key, 0x100)))
            mstore(add(pair, 0xa0), mload(add(key, 0x120)))
            // Σ r·C, delta
            pair := add(pair, 0xc0)
            mstore(pair, mload(c))
            mstore(add(pair, 0x20), mload(add(c, 0x20)))
            mstore(add(pair, 0x40), mload(add(key, 0x140)))
            mstore(add(pair, 0x60), mload(add(key, 0x160)))
            mstore(add(pair, 0x80), mload(add(key, 0x180)))
            mstore(add(pair, 0xa0), mload(add(key, 0x1a0)))
            ok := and(ok, staticcall(gas(), 0x08, p, mul(add(n, 3), 0xc0), p, 0x20))
            ok := and(ok, mload(p))
        }
    }
}
