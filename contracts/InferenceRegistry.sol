// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Decimal} from "contracts/lib/Decimal.sol";
import {Groth16} from "contracts/lib/Groth16.sol";
import {Owned2Step} from "contracts/lib/Owned2Step.sol";

/// @title InferenceRegistry
/// @notice Records model inferences whose Groth16 proofs verified, so contracts can use a model's
/// output without trusting whoever ran it. A model is known by its verification key hash (the
/// circuit's identity) and registered once, by the owner (after deployment: a Timelock, so every
/// registration is announced a delay ahead), with its verifier: a snarkjs
/// `Groth16Verifier` contract, or a key built into a derived registry (`_builtInKey`), which saves the
/// cold call to another contract and keeps verify-and-record near the bare verifier's gas.
///
/// An inference is recorded under (model, input commitment): the commitment binds the model, the
/// request nonce and the input, so one request is recorded once, whoever submits it. A generated
/// text is recorded as a trace: its decoding steps, each proven on its own and verified together, chained
/// state to state, recorded under the state its first step started from and the hash of its tokens
/// (a prefix of a trace is a trace too: recording one first must not keep the whole from being recorded).
contract InferenceRegistry is Owned2Step {
    enum Kind {
        Unknown,
        /// public signals (state_in, state_out): a context window and the request nonce, packed
        TokenStep,
        /// one public signal: Poseidon(model, nonce, input) with its low `bits` bits replaced by the label
        Classify,
        /// public signals (Poseidon(model, nonce, input), packed output words…)
        Tensor
    }

    /// One storage slot: all that verify-and-record reads for a model with an external verifier.
    struct Model {
        address verifier;
        Kind kind;
        uint8 signals;
        /// Classify: bits of the claim that hold the label. TokenStep: bits per token.
        uint8 bits;
        /// TokenStep: tokens in the window.
        uint16 context;
        /// verifyProof(uint256[2],uint256[2][2],uint256[2],uint256[signals]) of a snarkjs verifier.
        bytes4 selector;
    }

    mapping(bytes32 model => Model) public models;
    /// The circuit's model id as a field element: what commitments hash first.
    mapping(bytes32 model => uint256) public modelField;
    /// keccak(model, input commitment) → output << 64 | block number.
    mapping(bytes32 => uint256) private _records;
    /// keccak(model, first state, keccak(abi.encodePacked(tokens))) → block number.
    mapping(bytes32 => uint256) private _traces;

    event ModelRegistered(bytes32 indexed model, address verifier, Kind kind, uint256 modelField);
    /// For a tensor model `output` is the first 192 bits of keccak(output words).
    event InferenceVerified(bytes32 indexed model, uint256 indexed inputCommitment, uint256 output);
    event TraceVerified(bytes32 indexed model, uint256 indexed promptState, bytes32 indexed tokensHash, uint256[] tokens);

    error UnknownModel(bytes32 model);
    error AlreadyRegistered(bytes32 model);
    error NoVerifierCode(address verifier);
    error WrongSignalCount(uint256 given, uint256 expected);
    error InvalidProof(bytes32 model);
    error AlreadyRecorded(bytes32 model, uint256 inputCommitment);
    error NotTokenStep(bytes32 model);
    error BrokenTrace(uint256 step);
    error BadTraceLengths();

    /// Registers a model verified by a deployed snarkjs verifier. Append-only: a model's verifier never
    /// changes under the contracts that rely on it.
    function registerModel(bytes32 model, address verifier, Kind kind, uint8 signals, uint8 bits, uint16 context, uint256 field)
        external
        onlyOwner
    {
        if (verifier.code.length == 0) revert NoVerifierCode(verifier);
        bytes4 selector = bytes4(keccak256(abi.encodePacked("verifyProof(uint256[2],uint256[2][2],uint256[2],uint256[", Decimal.toDecimal(signals), "])")));
        _register(model, Model(verifier, kind, signals, bits, context, selector), field);
    }

    function _register(bytes32 model, Model memory info, uint256 field) internal {
        if (models[model].kind != Kind.Unknown) revert AlreadyRegistered(model);
        if (info.kind == Kind.Unknown) revert UnknownModel(model);
        models[model] = info;
        modelField[model] = field;
        emit ModelRegistered(model, info.verifier, info.kind, field);
    }

    // ---- verify and record

    /// Reverts unless the proof is valid; records (model, input commitment) → output once.
    function verifyAndRecord(bytes32 model, uint256[8] calldata proof, uint256[] calldata signals)
        external
        returns (uint256 inputCommitment, uint256 output)
    {
        (uint256 info, bool valid) = _verifyOne(model, proof, signals);
        if (!valid) revert InvalidProof(model);
        (inputCommitment, output) = _decode(info, signals);
        bytes32 id = keccak256(abi.encode(model, inputCommitment));
        if (_records[id] != 0) revert AlreadyRecorded(model, inputCommitment);
        _records[id] = (output << 64) | block.number;
        emit InferenceVerified(model, inputCommitment, output);
    }

    /// Records generated texts: `lengths[t]` consecutive steps form trace t. Every step is verified in
    /// one batch; within a trace each step must start from the state the previous one ended in.
    function recordTraces(bytes32 model, uint256[8][] calldata proofs, uint256[] calldata signals, uint256[] calldata lengths) external {
        (uint256[] memory vk, uint256 info) = _key(model);
        if (info & 0xff != uint8(Kind.TokenStep)) revert NotTokenStep(model);
        if (signals.length != 2 * proofs.length) revert WrongSignalCount(signals.length, 2 * proofs.length);
        if (!_verifyBatch(model, vk, info, proofs, signals)) revert InvalidProof(model);
        uint256 step;
        for (uint256 t; t < lengths.length; t++) {
            if (lengths[t] == 0 || step + lengths[t] > proofs.length) revert BadTraceLengths();
            _recordTrace(model, info, signals[2 * step:2 * (step + lengths[t])], step);
            step += lengths[t];
        }
        if (step != proofs.length) revert BadTraceLengths();
    }

    /// One trace's steps (their signals, two per step), starting at batch position `first`.
    function _recordTrace(bytes32 model, uint256 info, uint256[] calldata signals, uint256 first) private {
        uint256 bits = (info >> 16) & 0xff;
        uint256 shift = bits * (((info >> 24) & 0xffff) - 1);
        uint256 mask = (1 << bits) - 1;
        uint256[] memory tokens = new uint256[](signals.length / 2);
        for (uint256 k; k < tokens.length; k++) {
            if (k > 0 && signals[2 * k] != signals[2 * k - 1]) revert BrokenTrace(first + k);
            tokens[k] = (signals[2 * k + 1] >> shift) & mask;
        }
        bytes32 tokensHash = keccak256(abi.encodePacked(tokens));
        bytes32 id = keccak256(abi.encode(model, signals[0], tokensHash));
        if (_traces[id] != 0) revert AlreadyRecorded(model, signals[0]);
        _traces[id] = block.number;
        emit TraceVerified(model, signals[0], tokensHash, tokens);
    }

    // ---- views

    function inference(bytes32 model, uint256 inputCommitment) external view returns (bool verified, uint256 output, uint256 blockNumber) {
        uint256 record = _records[keccak256(abi.encode(model, inputCommitment))];
        return (record != 0, record >> 64, uint64(record));
    }

    /// The block that recorded the trace of these tokens (keccak of abi.encodePacked(tokens)) from
    /// `promptState`; zero when there is none.
    function traceBlock(bytes32 model, uint256 promptState, bytes32 tokensHash) public view returns (uint256) {
        return _traces[keccak256(abi.encode(model, promptState, tokensHash))];
    }

    /// Whether `tokens` were proven to be generated, in this order, from `promptState`.
    function isTraceVerified(bytes32 model, uint256 promptState, uint256[] calldata tokens) external view returns (bool) {
        return traceBlock(model, promptState, keccak256(abi.encodePacked(tokens))) != 0;
    }

    /// Checks a proof without recording it (false when invalid; reverts for an unknown model).
    function verify(bytes32 model, uint256[8] calldata proof, uint256[] calldata signals) external view returns (bool valid) {
        (, valid) = _verifyOne(model, proof, signals);
    }

    function verifyBatch(bytes32 model, uint256[8][] calldata proofs, uint256[] calldata signals) external view returns (bool) {
        (uint256[] memory vk, uint256 info) = _key(model);
        return _verifyBatch(model, vk, info, proofs, signals);
    }

    /// What a proof's public signals say: the input commitment it is recorded under, and its output.
    function decode(bytes32 model, uint256[] calldata signals) external view returns (uint256 inputCommitment, uint256 output) {
        (, uint256 info) = _key(model);
        if (signals.length != (info >> 8) & 0xff) revert WrongSignalCount(signals.length, (info >> 8) & 0xff);
        return _decode(info, signals);
    }

    // ---- internals
    //
    // A model's description travels packed in one word, `info`: kind | signals << 8 | bits << 16 |
    // context << 24 (zero: not built in), so the hot path allocates nothing.

    /// Built-in verification of one proof; info 0 when the model is not built in.
    function _builtInVerify(bytes32 model, uint256[8] calldata proof, uint256[] calldata signals)
        internal
        view
        virtual
        returns (uint256 info, bool valid)
    {}

    /// A built-in verifying key (contracts/lib/Groth16.sol's layout) for batches; empty when not built in.
    function _builtInKey(bytes32 model) internal pure virtual returns (uint256[] memory vk, uint256 info) {}

    function _pack(Model memory m) private pure returns (uint256) {
        return uint256(m.kind) | (uint256(m.signals) << 8) | (uint256(m.bits) << 16) | (uint256(m.context) << 24);
    }

    function _stored(bytes32 model) private view returns (Model memory m) {
        m = models[model];
        if (m.kind == Kind.Unknown) revert UnknownModel(model);
    }

    function _key(bytes32 model) private view returns (uint256[] memory vk, uint256 info) {
        (vk, info) = _builtInKey(model);
        if (info == 0) info = _pack(_stored(model));
    }

    function _verifyOne(bytes32 model, uint256[8] calldata proof, uint256[] calldata signals) private view returns (uint256 info, bool valid) {
        (info, valid) = _builtInVerify(model, proof, signals);
        if (info != 0) return (info, valid);
        Model memory m = _stored(model);
        if (signals.length != m.signals) revert WrongSignalCount(signals.length, m.signals);
        (bool ok, bytes memory answer) = m.verifier.staticcall(abi.encodePacked(m.selector, proof, signals));
        return (_pack(m), ok && answer.length == 32 && abi.decode(answer, (bool)));
    }

    function _verifyBatch(bytes32 model, uint256[] memory vk, uint256 info, uint256[8][] calldata proofs, uint256[] calldata signals)
        private
        view
        returns (bool)
    {
        // one proof: the single check, with its key as constants, is cheaper than a batch of one
        if (proofs.length == 1) {
            (, bool valid) = _verifyOne(model, proofs[0], signals);
            return valid;
        }
        if (vk.length != 0) return Groth16.verifyBatch(vk, proofs, signals);
        // An external verifier holds its key in code: one call per proof.
        uint256 m = (info >> 8) & 0xff;
        if (proofs.length == 0 || signals.length != proofs.length * m) return false;
        for (uint256 i; i < proofs.length; i++) {
            (, bool valid) = _verifyOne(model, proofs[i], signals[i * m:(i + 1) * m]);
            if (!valid) return false;
        }
        return true;
    }

    function _decode(uint256 info, uint256[] calldata signals) private pure returns (uint256 inputCommitment, uint256 output) {
        uint256 kind = info & 0xff;
        uint256 bits = (info >> 16) & 0xff;
        if (kind == uint8(Kind.Classify)) {
            inputCommitment = (signals[0] >> bits) << bits;
            output = signals[0] & ((1 << bits) - 1);
        } else if (kind == uint8(Kind.TokenStep)) {
            inputCommitment = signals[0];
            output = (signals[1] >> (bits * (((info >> 24) & 0xffff) - 1))) & ((1 << bits) - 1);
        } else {
            inputCommitment = signals[0];
            output = uint256(keccak256(abi.encodePacked(signals[1:]))) >> 64;
        }
    }
}
