// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title Owned2Step
/// @notice An owner that hands over in two steps: the owner names a successor, and ownership moves only
/// when that address accepts, so a typo or an address nobody controls cannot take the contract.
abstract contract Owned2Step {
    address public owner;
    /// Named by the owner; becomes the owner when it calls `acceptOwnership`.
    address public pendingOwner;

    event OwnershipTransferStarted(address indexed previousOwner, address indexed newOwner);
    event OwnershipTransferred(address indexed previousOwner, address indexed newOwner);

    error NotOwner();
    error NotPendingOwner(address caller);

    modifier onlyOwner() {
        if (msg.sender != owner) revert NotOwner();
        _;
    }

    constructor() {
        owner = msg.sender;
        emit OwnershipTransferred(address(0), msg.sender);
    }

    /// Names `newOwner` (address(0) withdraws a pending transfer); nothing moves until it accepts.
    function transferOwnership(address newOwner) external onlyOwner {
        pendingOwner = newOwner;
        emit OwnershipTransferStarted(owner, newOwner);
    }

    function acceptOwnership() external {
        if (msg.sender != pendingOwner || msg.sender == address(0)) revert NotPendingOwner(msg.sender);
        emit OwnershipTransferred(owner, msg.sender);
        owner = msg.sender;
        delete pendingOwner;
    }
}
