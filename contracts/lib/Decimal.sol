// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// Decimal digits of a number: selectors of fixed-size array functions (`hash(uint256[7])`) spell the
/// size in decimal, so a contract registering such a callee derives the selector itself.
library Decimal {
    function toDecimal(uint256 v) internal pure returns (bytes memory s) {
        if (v == 0) return "0";
        while (v != 0) {
            s = abi.encodePacked(bytes1(uint8(48 + (v % 10))), s);
            v /= 10;
        }
    }
}
