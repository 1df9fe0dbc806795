// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title HashedWords
/// @notice The spam classifier's input features of a text, packed the way its circuit commits to them
/// (src/model/spam-features.ts, src/witness/circuit-input.ts), so a contract can tell whether a proof
/// is about exactly the text it holds.
/// @dev Words are maximal runs of [a-z0-9] after lower-casing; each sets the bit FNV-1a-32(word) % 1024.
/// Feature i lives in word i / 253, bit i % 253 (253 bits keep each word below the BN254 field).
///
/// Lower-casing here is ASCII only, and every other byte, non-ASCII UTF-8 included, separates words.
/// JavaScript's Unicode toLowerCase agrees on every text except those holding one of the only two
/// non-ASCII code points that lower-case into [a-z0-9]: U+212A KELVIN SIGN ("K" -> "k") and U+0130
/// LATIN CAPITAL LETTER I WITH DOT ABOVE ("İ" -> "i" + U+0307). There JS sees a letter where this
/// sees a separator; the features, and so the commitment, differ and the proof is rejected: it fails
/// safe, never accepting a proof about a different text.
library HashedWords {
    uint256 internal constant BUCKETS = 1024;
    uint256 internal constant BITS_PER_WORD = 253;
    uint256 internal constant WORDS = 5; // ceil(BUCKETS / BITS_PER_WORD)

    uint256 private constant FNV_OFFSET = 0x811c9dc5;
    uint256 private constant FNV_PRIME = 0x01000193;
    // Bit c set for every byte c in [0-9A-Za-z]; one shift classifies a byte without branches.
    uint256 private constant WORD_BYTES = 0x7fffffe07fffffe03ff000000000000;
    uint256 private constant BUCKET_MASK = 1023; // BUCKETS - 1

    function features(bytes memory text) internal pure returns (uint256[WORDS] memory words) {
        assembly ("memory-safe") {
            let p := add(text, 0x20)
            let end := add(p, mload(text))
            // Outer loop skips separators; the inner one hashes a whole word, so no per-byte state flag.
            for {} lt(p, end) {} {
                let c := byte(0, mload(p))
                p := add(p, 1)
                if and(shr(c, WORD_BYTES), 1) {
                    let h := FNV_OFFSET
                    for {} 1 {} {
                        // Every [0-9a-z] byte already has bit 5 set, so `or 0x20` lower-cases A-Z only.
                        // The product is left unreduced: mod 2^256 it stays congruent mod 2^32, hence
                        // mod BUCKETS (a power of two), to the 32-bit FNV-1a state.
                        h := mul(xor(h, or(c, 0x20)), FNV_PRIME)
                        if eq(p, end) { break }
                        c := byte(0, mload(p))
                        p := add(p, 1) // a separator that ends the word is consumed with it
                        if iszero(and(shr(c, WORD_BYTES), 1)) { break }
                    }
                    let bucket := and(h, BUCKET_MASK)
                    let slot := add(words, shl(5, div(bucket, BITS_PER_WORD)))
                    mstore(slot, or(mload(slot), shl(mod(bucket, BITS_PER_WORD), 1)))
                }
            }
        }
    }
}
