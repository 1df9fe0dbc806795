// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title BytePairDecoder
/// @notice Token ids of the student model's byte-level BPE tokenizer back into bytes
/// (src/model/tokenizer.ts), so a contract can read the text a proven generation produced.
/// @dev Ids 0..255 are the bytes themselves; id 256 + k is merges[k] = [left, right], the bytes of
/// left followed by those of right. The merge table comes packed as `merges`: for each k in rank
/// order, left then right as 2-byte big-endian ids, 4 bytes per merge, so merge 256 + k is bytes
/// [4k, 4k + 4). From tokenizer.json: concat over k of uint16be(merges[k][0]) ++ uint16be(merges[k][1]).
///
/// Ids below 256 are always bytes; `eot` (319 for the student) decodes to nothing; any other id that
/// is not a merge reverts. A merge may only combine ids below its own, as the tokenizer requires:
/// that bounds the walk down a token's tree and the stack it needs, so a table breaking it reverts
/// (when a decoded token reaches the bad merge) instead of looping or writing out of bounds.
library BytePairDecoder {
    error UnknownToken(uint256 token);
    /// @notice Merge `token` refers to itself or a later id (a merge the decoded tokens reach).
    error MalformedMerge(uint256 token);
    /// @notice The packed table is not a whole number of 4-byte merges.
    error MergeTableLength(uint256 length);

    function decode(uint256[] memory tokens, bytes memory merges, uint256 eot) internal pure returns (bytes memory text) {
        if (merges.length % 4 != 0) revert MergeTableLength(merges.length);
        uint256 failure; // 1: unknown token, 2: malformed merge; raised below so the errors reach the ABI
        uint256 culprit;
        assembly ("memory-safe") {
            let mergeCount := shr(2, mload(merges))
            let table := add(merges, 0x20)
            // Right halves still to emit go on a stack growing down from `text`. Ids fall strictly
            // along any path down a token's tree, so it holds at most one entry per merge.
            text := add(mload(0x40), shl(5, mergeCount))
            let cursor := add(text, 0x20)
            let tp := add(tokens, 0x20)
            let tend := add(tp, shl(5, mload(tokens)))
            let limit := add(256, mergeCount)
            for {} lt(tp, tend) { tp := add(tp, 0x20) } {
                let id := mload(tp)
                switch lt(id, 256)
                case 1 {
                    mstore8(cursor, id)
                    cursor := add(cursor, 1)
                }
                default {
                    if iszero(eq(id, eot)) {
                        if iszero(lt(id, limit)) {
                            failure := 1
                            culprit := id
                            break
                        }
                        let sp := text
                        for {} 1 {} {
                            switch gt(id, 255)
                            case 1 {
                                let pair := shr(224, mload(add(table, shl(2, sub(id, 256)))))
                                let left := shr(16, pair)
                                let right := and(pair, 0xffff)
                                // Yul cannot break out of both loops: walk on into byte 0 instead
                                // of the bad halves, stop after this token and revert below.
                                if iszero(and(lt(left, id), lt(right, id))) {
                                    failure := 2
                                    culprit := id
                                    tend := tp
                                    left := 0
                                    right := 0
                                }
                                sp := sub(sp, 0x20)
                                mstore(sp, right)
                                id := left
                            }
                            default {
                                mstore8(cursor, id)
                                cursor := add(cursor, 1)
                                if eq(sp, text) { break }
                                id := mload(sp)
                                sp := add(sp, 0x20)
                            }
                        }
                    }
                }
            }
            mstore(text, sub(cursor, add(text, 0x20)))
            mstore(cursor, 0) // clean padding after the last byte
            mstore(0x40, and(add(cursor, 0x1f), not(0x1f)))
        }
        if (failure == 1) revert UnknownToken(culprit);
        if (failure == 2) revert MalformedMerge(culprit);
    }
}
