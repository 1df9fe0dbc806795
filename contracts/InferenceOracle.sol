// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {InferenceRegistry} from "contracts/InferenceRegistry.sol";
import {Decimal} from "contracts/lib/Decimal.sol";

/// A contract that asks the oracle for inferences receives them here, once the proof has verified.
interface IInferenceConsumer {
    /// `output`: [label] for a classifier, [next token] for a decoding step, the packed output words
    /// (the proof's public signals after the commitment) for a tensor model.
    function onInference(uint256 requestId, uint256[] calldata output) external;
}

/// @title InferenceOracle
/// @notice Contracts request inferences; a gateway watching `InferenceRequested` runs the model,
/// proves it with the request id as the proof's nonce, and calls `fulfill`, which verifies the proof
/// through the registry and checks that its input commitment is exactly the one of this request id
/// and this input before it calls the consumer back with the gas the consumer asked for. A request
/// that nobody fulfils before its deadline is refunded.
contract InferenceOracle {
    enum Status {
        None,
        Pending,
        Fulfilled,
        Refunded
    }

    struct Request {
        address requester;
        uint64 deadline;
        uint32 gasLimit;
        Status status;
        address callback;
        uint96 fee;
        bytes32 model;
        bytes32 inputHash;
    }

    struct Service {
        bool enabled;
        uint96 fee;
    }

    struct Hasher {
        address at;
        bytes4 selector;
    }

    /// The most gas a callback may ask for, so a request can always be fulfilled within a block.
    uint32 public constant MAX_CALLBACK_GAS = 5_000_000;
    /// Gas kept for the checks around the callback.
    uint256 private constant CALLBACK_RESERVE = 5_000;

    InferenceRegistry public immutable registry;
    /// Seconds a request stays fulfillable before its requester may take the fee back.
    uint64 public immutable timeout;
    address public owner;
    uint256 public requestCount;
    mapping(uint256 requestId => Request) public requests;
    mapping(bytes32 model => Service) public services;
    /// Poseidon contracts by number of inputs: commitments are Poseidon(model field, nonce, input words).
    mapping(uint256 inputs => Hasher) public hashers;

    event InferenceRequested(
        uint256 indexed requestId, bytes32 indexed model, address indexed requester, address callback, uint32 gasLimit, uint256 fee, uint64 deadline, uint256[] input
    );
    event InferenceFulfilled(uint256 indexed requestId, bytes32 indexed model, uint256 inputCommitment, uint256[] output, bool callbackSucceeded);
    event RequestRefunded(uint256 indexed requestId, address requester, uint256 fee);
    event ServiceSet(bytes32 indexed model, bool enabled, uint96 fee);

    error NotOwner();
    error ServiceDisabled(bytes32 model);
    error WrongFee(uint256 paid, uint256 fee);
    error CallbackGasTooHigh(uint32 gasLimit);
    error BadInput(string reason);
    error NotPending(uint256 requestId);
    error InputMismatch(uint256 requestId);
    error WrongRequest(uint256 requestId, uint256 inputCommitment, uint256 expected);
    error NotExpired(uint256 requestId, uint64 deadline);
    error NotEnoughGasForCallback(uint32 gasLimit);
    error WrongOutput(uint256 requestId, uint256 output, uint256 recorded);
    error TransferFailed();

    modifier onlyOwner() {
        if (msg.sender != owner) revert NotOwner();
        _;
    }

    constructor(InferenceRegistry registry_, uint64 timeout_) {
        registry = registry_;
        timeout = timeout_;
        owner = msg.sender;
    }

    function setService(bytes32 model, bool enabled, uint96 fee) external onlyOwner {
        (, InferenceRegistry.Kind kind,,,,) = registry.models(model);
        if (kind == InferenceRegistry.Kind.Unknown) revert InferenceRegistry.UnknownModel(model);
        services[model] = Service(enabled, fee);
        emit ServiceSet(model, enabled, fee);
    }

    function setHasher(uint256 inputs, address at) external onlyOwner {
        hashers[inputs] = Hasher(at, bytes4(keccak256(abi.encodePacked("hash(uint256[", Decimal.toDecimal(inputs), "])"))));
    }

    /// `input`: the context window's token ids for a decoding-step model; otherwise the input words
    /// the circuit commits to (the sample packed as the circuit's manifest says).
    function requestInference(bytes32 model, uint256[] calldata input, address callback, uint32 gasLimit)
        external
        payable
        returns (uint256 requestId)
    {
        Service memory service = services[model];
        if (!service.enabled) revert ServiceDisabled(model);
        if (msg.value != service.fee) revert WrongFee(msg.value, service.fee);
        if (gasLimit > MAX_CALLBACK_GAS) revert CallbackGasTooHigh(gasLimit);
        requestId = ++requestCount;
        _expectedCommitment(model, requestId, input); // reverts for an input the circuit cannot take
        uint64 deadline = uint64(block.timestamp) + timeout;
        requests[requestId] = Request(msg.sender, deadline, gasLimit, Status.Pending, callback, service.fee, model, keccak256(abi.encodePacked(input)));
        emit InferenceRequested(requestId, model, msg.sender, callback, gasLimit, service.fee, deadline, input);
    }

    /// Verifies (and records, unless someone already has) the proof of this request, pays the fee to
    /// the caller, then calls the consumer back. A failing callback does not undo the answer.
    function fulfill(uint256 requestId, uint256[] calldata input, uint256[8] calldata proof, uint256[] calldata signals) external {
        Request storage request = requests[requestId];
        if (request.status != Status.Pending) revert NotPending(requestId);
        if (keccak256(abi.encodePacked(input)) != request.inputHash) revert InputMismatch(requestId);
        bytes32 model = request.model;
        (uint256 inputCommitment, uint256 output) = registry.decode(model, signals);
        uint256 expected = _expectedCommitment(model, requestId, input);
        if (inputCommitment != expected) revert WrongRequest(requestId, inputCommitment, expected);
        (bool verified, uint256 recorded,) = registry.inference(model, inputCommitment);
        if (!verified) registry.verifyAndRecord(model, proof, signals);
        // someone recorded this request's proof first: these signals were not verified here, so they
        // must say what the registry holds (for a tensor model `output` hashes the words answered below)
        else if (recorded != output) revert WrongOutput(requestId, output, recorded);
        request.status = Status.Fulfilled;
        (, InferenceRegistry.Kind kind,,,,) = registry.models(model);
        uint256[] memory answer;
        if (kind == InferenceRegistry.Kind.Tensor) {
            answer = signals[1:];
        } else {
            answer = new uint256[](1);
            answer[0] = output;
        }
        _pay(msg.sender, request.fee);
        bool ok = _callWithExactGas(request.callback, request.gasLimit, abi.encodeCall(IInferenceConsumer.onInference, (requestId, answer)));
        emit InferenceFulfilled(requestId, model, inputCommitment, answer, ok);
    }

    function refund(uint256 requestId) external {
        Request storage request = requests[requestId];
        if (request.status != Status.Pending) revert NotPending(requestId);
        if (block.timestamp <= request.deadline) revert NotExpired(requestId, request.deadline);
        request.status = Status.Refunded;
        _pay(request.requester, request.fee);
        emit RequestRefunded(requestId, request.requester, request.fee);
    }

    /// The input commitment a proof for this request must carry: the request id is the nonce.
    function _expectedCommitment(bytes32 model, uint256 requestId, uint256[] calldata input) private view returns (uint256) {
        (, InferenceRegistry.Kind kind,, uint8 bits, uint16 context,) = registry.models(model);
        if (kind == InferenceRegistry.Kind.TokenStep) {
            if (input.length != context) revert BadInput("a decoding step takes exactly one context window of tokens");
            uint256 state;
            for (uint256 p; p < context; p++) {
                if (input[p] >> bits != 0) revert BadInput("token id out of range");
                state |= input[p] << (uint256(bits) * p);
            }
            return state | (requestId << (uint256(bits) * context));
        }
        Hasher memory hasher = hashers[input.length + 2];
        if (hasher.at == address(0)) revert BadInput("no Poseidon hasher for this many input words");
        uint256 field = registry.modelField(model);
        (bool ok, bytes memory out) = hasher.at.staticcall(abi.encodePacked(hasher.selector, field, requestId, input));
        if (!ok || out.length != 32) revert BadInput("input words must be field elements");
        uint256 commitment = abi.decode(out, (uint256));
        return kind == InferenceRegistry.Kind.Classify ? (commitment >> bits) << bits : commitment;
    }

    /// EIP-150 passes on at most 63/64 of the gas left: check first that the consumer really gets
    /// `gasLimit`, so a fulfiller cannot starve the callback by sending too little.
    function _callWithExactGas(address target, uint256 gasLimit, bytes memory data) private returns (bool ok) {
        uint256 left = gasleft();
        if (left - left / 64 <= gasLimit + CALLBACK_RESERVE) revert NotEnoughGasForCallback(uint32(gasLimit));
        assembly ("memory-safe") {
            ok := and(gt(extcodesize(target), 0), call(gasLimit, target, 0, add(data, 0x20), mload(data), 0, 0))
        }
    }

    function _pay(address to, uint256 amount) private {
        if (amount == 0) return;
        (bool ok,) = to.call{value: amount}("");
        if (!ok) revert TransferFailed();
    }
}
