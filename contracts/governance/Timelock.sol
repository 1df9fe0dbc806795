// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

interface IOwned2Step {
    function acceptOwnership() external;
}

/// @title Timelock
/// @notice The owner of the registry and the oracle: every change of their rules (a model registered,
/// a fee set, ownership moved) is scheduled here first, in public (`CallScheduled` with the exact call),
/// and can be executed only `minDelay` seconds later, so whoever relies on the rules sees a change
/// coming and can leave before it applies. The proposer (fixed at deployment, typically the gateway's
/// key) may schedule, execute and cancel calls; it cannot shorten the delay, which is fixed too.
contract Timelock {
    /// `readyAt` of a call that was executed.
    uint256 private constant DONE = 1;

    uint256 public immutable minDelay;
    address public immutable proposer;
    /// Call id → the timestamp from which it may be executed; DONE once executed; 0: not scheduled.
    mapping(bytes32 id => uint256) public readyAt;

    event CallScheduled(bytes32 indexed id, address indexed target, uint256 value, bytes data, bytes32 salt, uint256 readyAt);
    event CallExecuted(bytes32 indexed id, address indexed target, uint256 value, bytes data);
    event Cancelled(bytes32 indexed id);

    error NotProposer(address caller);
    error AlreadyScheduled(bytes32 id);
    error NotScheduled(bytes32 id);
    error NotReady(bytes32 id, uint256 readyAt);
    error CallFailed(bytes32 id, bytes reason);
    error WrongValue(uint256 sent, uint256 value);

    modifier onlyProposer() {
        if (msg.sender != proposer) revert NotProposer(msg.sender);
        _;
    }

    constructor(uint256 minDelay_, address proposer_) {
        minDelay = minDelay_;
        proposer = proposer_;
    }

    function hashCall(address target, uint256 value, bytes calldata data, bytes32 salt) public pure returns (bytes32) {
        return keccak256(abi.encode(target, value, data, salt));
    }

    function schedule(address target, uint256 value, bytes calldata data, bytes32 salt) external onlyProposer returns (bytes32 id) {
        id = hashCall(target, value, data, salt);
        if (readyAt[id] != 0) revert AlreadyScheduled(id);
        uint256 ready = block.timestamp + minDelay;
        readyAt[id] = ready;
        emit CallScheduled(id, target, value, data, salt, ready);
    }

    /// Runs a scheduled call once its delay has passed (`value` comes with this transaction).
    function execute(address target, uint256 value, bytes calldata data, bytes32 salt) external payable onlyProposer returns (bytes memory result) {
        bytes32 id = hashCall(target, value, data, salt);
        uint256 ready = readyAt[id];
        if (ready <= DONE) revert NotScheduled(id);
        if (block.timestamp < ready) revert NotReady(id, ready);
        if (msg.value != value) revert WrongValue(msg.value, value);
        readyAt[id] = DONE;
        bool ok;
        (ok, result) = target.call{value: value}(data);
        if (!ok) revert CallFailed(id, result);
        emit CallExecuted(id, target, value, data);
    }

    function cancel(bytes32 id) external onlyProposer {
        if (readyAt[id] <= DONE) revert NotScheduled(id);
        delete readyAt[id];
        emit Cancelled(id);
    }

    /// Completes a transfer of `target`'s ownership to this timelock. Anyone may call it: it can only
    /// succeed when the target's owner already named this timelock, and it only hands rules to the delay.
    function acceptOwnership(address target) external {
        IOwned2Step(target).acceptOwnership();
    }
}
