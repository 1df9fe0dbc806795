// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {InferenceRegistry} from "contracts/InferenceRegistry.sol";
import {Decimal} from "contracts/lib/Decimal.sol";
import {Owned2Step} from "contracts/lib/Owned2Step.sol";

/// A contract that asks the oracle for inferences receives them here, once the proof has verified.
interface IInferenceConsumer {
    /// `output`: [label] for a classifier, [next token] for a decoding step, the packed output words
    /// (the proof's public signals after the commitment) for a tensor model.
    function onInference(uint256 requestId, uint256[] calldata output) external;
}

/// @title InferenceOracle
/// @notice Contracts request inferences; a gateway watching `InferenceRequested` runs the model,
/// proves it under the nonce this request expects from the gateway's own address (see `nonceFor`),
/// and calls `fulfill`, which verifies the proof through the registry and checks that its input
/// commitment is exactly the one of this request, this input and this caller before it pays the fee
/// and calls the consumer back with the gas the consumer asked for (and paid for: the fee grows with
/// it). A proof copied from a pending `fulfill` names its fulfiller, so it is worthless to anyone
/// else. A request that nobody fulfils before its deadline is refunded.
///
/// Fixed at deployment: the registry, the Poseidon hashers, the timeout. The owner (a Timelock after
/// deployment) only sets the services: which models are served, at what fee.
contract InferenceOracle is Owned2Step {
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

    /// A request's fee: `baseFee + gasLimit * feePerGas`, so the callback's gas is paid for by whoever asks for it.
    struct Service {
        bool enabled;
        uint96 baseFee;
        uint96 feePerGas;
    }

    struct Hasher {
        address at;
        bytes4 selector;
    }

    /// The most gas a callback may ask for, so a request can always be fulfilled within a block.
    uint32 public constant MAX_CALLBACK_GAS = 5_000_000;
    /// Gas kept for the checks around the callback.
    uint256 private constant CALLBACK_RESERVE = 5_000;
    /// What the nonce hash starts with: keccak256("proofgate.oracle.v1") (src/core/request-binding.ts).
    bytes32 public constant ORACLE_DOMAIN = keccak256("proofgate.oracle.v1");
    /// Bits of a packed circuit word (src/circuit/emit-circuit.ts): a decoding step's state holds the
    /// context window and, above it, the nonce in what is left.
    uint256 private constant WORD_BITS = 253;
    /// Nonce bits of circuits that hash the nonce into a Poseidon commitment: below the field's modulus.
    uint256 private constant HASHED_NONCE_BITS = 248;

    InferenceRegistry public immutable registry;
    /// Seconds a request stays fulfillable before its requester may take the fee back.
    uint64 public immutable timeout;
    uint256 public requestCount;
    mapping(uint256 requestId => Request) public requests;
    mapping(bytes32 model => Service) public services;
    /// Poseidon contracts by number of inputs: commitments are Poseidon(model field, nonce, input words).
    /// Set in the constructor, never after: what a commitment means cannot change under a request.
    mapping(uint256 inputs => Hasher) public hashers;

    event InferenceRequested(
        uint256 indexed requestId, bytes32 indexed model, address indexed requester, address callback, uint32 gasLimit, uint256 fee, uint64 deadline, uint256[] input
    );
    event InferenceFulfilled(uint256 indexed requestId, bytes32 indexed model, uint256 inputCommitment, uint256[] output, bool callbackSucceeded);
    event RequestRefunded(uint256 indexed requestId, address requester, uint256 fee);
    event ServiceSet(bytes32 indexed model, bool enabled, uint96 baseFee, uint96 feePerGas);

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
    error FeeTooHigh(uint256 maxFee);
    error BadHashers();

    /// `hasherInputs[i]`: how many inputs the Poseidon contract `hasherAddresses[i]` hashes.
    constructor(InferenceRegistry registry_, uint64 timeout_, uint256[] memory hasherInputs, address[] memory hasherAddresses) {
        registry = registry_;
        timeout = timeout_;
        if (hasherInputs.length != hasherAddresses.length) revert BadHashers();
        for (uint256 i; i < hasherInputs.length; i++) {
            if (hasherAddresses[i].code.length == 0 || hashers[hasherInputs[i]].at != address(0)) revert BadHashers();
            bytes4 selector = bytes4(keccak256(abi.encodePacked("hash(uint256[", Decimal.toDecimal(hasherInputs[i]), "])")));
            hashers[hasherInputs[i]] = Hasher(hasherAddresses[i], selector);
        }
    }

    function setService(bytes32 model, bool enabled, uint96 baseFee, uint96 feePerGas) external onlyOwner {
        (, InferenceRegistry.Kind kind,,,,) = registry.models(model);
        if (kind == InferenceRegistry.Kind.Unknown) revert InferenceRegistry.UnknownModel(model);
        // every fee a request can owe fits the request's uint96
        uint256 maxFee = uint256(baseFee) + uint256(MAX_CALLBACK_GAS) * feePerGas;
        if (maxFee > type(uint96).max) revert FeeTooHigh(maxFee);
        services[model] = Service(enabled, baseFee, feePerGas);
        emit ServiceSet(model, enabled, baseFee, feePerGas);
    }

    /// What a request for `model` with `gasLimit` gas of callback costs.
    function fee(bytes32 model, uint32 gasLimit) public view returns (uint256) {
        Service memory service = services[model];
        return uint256(service.baseFee) + uint256(gasLimit) * service.feePerGas;
    }

    /// The nonce a proof for `requestId` must carry when `fulfiller` delivers it: the top bits of
    /// keccak(ORACLE_DOMAIN, chain id, this oracle, request id, fulfiller), as many as the circuit has.
    function nonceFor(uint256 requestId, address fulfiller) external view returns (uint256) {
        return _nonce(requests[requestId].model, requestId, fulfiller);
    }

    /// `input`: the context window's token ids for a decoding-step model; otherwise the input words
    /// the circuit commits to (the sample packed as the circuit's manifest says).
    function requestInference(bytes32 model, uint256[] calldata input, address callback, uint32 gasLimit)
        external
        payable
        returns (uint256 requestId)
    {
        if (!services[model].enabled) revert ServiceDisabled(model);
        if (gasLimit > MAX_CALLBACK_GAS) revert CallbackGasTooHigh(gasLimit);
        uint256 owed = fee(model, gasLimit);
        if (msg.value != owed) revert WrongFee(msg.value, owed);
        requestId = ++requestCount;
        _expectedCommitment(model, input, 0); // reverts for an input the circuit cannot take
        uint64 deadline = uint64(block.timestamp) + timeout;
        requests[requestId] = Request(msg.sender, deadline, gasLimit, Status.Pending, callback, uint96(owed), model, keccak256(abi.encodePacked(input)));
        emit InferenceRequested(requestId, model, msg.sender, callback, gasLimit, owed, deadline, input);
    }

    /// Verifies (and records, unless someone already has) the proof of this request under the nonce
    /// that names the caller, pays the fee to the caller, then calls the consumer back. A failing
    /// callback does not undo the answer.
    function fulfill(uint256 requestId, uint256[] calldata input, uint256[8] calldata proof, uint256[] calldata signals) external {
        Request storage request = requests[requestId];
        if (request.status != Status.Pending) revert NotPending(requestId);
        if (keccak256(abi.encodePacked(input)) != request.inputHash) revert InputMismatch(requestId);
        bytes32 model = request.model;
        (uint256 inputCommitment, uint256 output) = registry.decode(model, signals);
        uint256 expected = _expectedCommitment(model, input, _nonce(model, requestId, msg.sender));
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

    function _nonce(bytes32 model, uint256 requestId, address fulfiller) private view returns (uint256) {
        (, InferenceRegistry.Kind kind,, uint8 bits, uint16 context,) = registry.models(model);
        uint256 nonceBits = kind == InferenceRegistry.Kind.TokenStep ? WORD_BITS - uint256(bits) * context : HASHED_NONCE_BITS;
        return uint256(keccak256(abi.encode(ORACLE_DOMAIN, block.chainid, address(this), requestId, fulfiller))) >> (256 - nonceBits);
    }

    /// The input commitment a proof of `input` under `nonce` carries.
    function _expectedCommitment(bytes32 model, uint256[] calldata input, uint256 nonce) private view returns (uint256) {
        (, InferenceRegistry.Kind kind,, uint8 bits, uint16 context,) = registry.models(model);
        if (kind == InferenceRegistry.Kind.TokenStep) {
            if (input.length != context) revert BadInput("a decoding step takes exactly one context window of tokens");
            uint256 state;
            for (uint256 p; p < context; p++) {
                if (input[p] >> bits != 0) revert BadInput("token id out of range");
                state |= input[p] << (uint256(bits) * p);
            }
            return state | (nonce << (uint256(bits) * context));
        }
        Hasher memory hasher = hashers[input.length + 2];
        if (hasher.at == address(0)) revert BadInput("no Poseidon hasher for this many input words");
        uint256 field = registry.modelField(model);
        (bool ok, bytes memory out) = hasher.at.staticcall(abi.encodePacked(hasher.selector, field, nonce, input));
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
