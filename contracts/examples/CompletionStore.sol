// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {InferenceRegistry} from "contracts/InferenceRegistry.sol";
import {BytePairDecoder} from "contracts/lib/BytePairDecoder.sol";

/// @title CompletionStore
/// @notice Keeps texts a language model generated, each only once its whole trace is verified in the
/// registry: the tokens given must hash to the recorded trace, and the store decodes them to text
/// itself with the model's byte-pair merge table, so the stored text is exactly what was proven.
contract CompletionStore {
    struct Completion {
        address storedBy;
        string prompt;
        string text;
    }

    InferenceRegistry public immutable registry;
    bytes32 public immutable model;
    uint256 public immutable endOfText;
    uint256 private immutable tokenBits;
    uint256 private immutable context;
    /// The tokenizer's merges, 4 bytes each (left, right as 2-byte ids): id 256 + k is merge k.
    bytes public merges;

    /// By trace id: keccak(prompt state, keccak(abi.encodePacked(tokens))).
    mapping(bytes32 traceId => Completion) private _completions;

    event CompletionStored(bytes32 indexed traceId, uint256 indexed promptState, address indexed storedBy, string prompt, string text);

    error TraceNotVerified(uint256 promptState);
    error AlreadyStored(bytes32 traceId);

    constructor(InferenceRegistry registry_, bytes32 model_, bytes memory merges_, uint256 endOfText_) {
        registry = registry_;
        model = model_;
        merges = merges_;
        endOfText = endOfText_;
        (,,, uint8 bits, uint16 ctx,) = registry_.models(model_);
        tokenBits = bits;
        context = ctx;
    }

    /// Stores the completion generated from `promptState` (the first step's public state: the prompt
    /// window and the request nonce) if `tokens` are exactly a verified trace from it.
    function store(uint256 promptState, uint256[] calldata tokens) external returns (bytes32 traceId, string memory text) {
        if (!registry.isTraceVerified(model, promptState, tokens)) revert TraceNotVerified(promptState);
        traceId = keccak256(abi.encode(promptState, keccak256(abi.encodePacked(tokens))));
        if (_completions[traceId].storedBy != address(0)) revert AlreadyStored(traceId);
        bytes memory table = merges;
        text = string(BytePairDecoder.decode(tokens, table, endOfText));
        string memory prompt = string(BytePairDecoder.decode(promptTokens(promptState), table, endOfText));
        _completions[traceId] = Completion(msg.sender, prompt, text);
        emit CompletionStored(traceId, promptState, msg.sender, prompt, text);
    }

    function completion(bytes32 traceId) external view returns (address storedBy, string memory prompt, string memory text) {
        Completion storage c = _completions[traceId];
        return (c.storedBy, c.prompt, c.text);
    }

    /// The prompt window a state holds, oldest token first (end-of-text padding decodes to nothing).
    function promptTokens(uint256 promptState) public view returns (uint256[] memory tokens) {
        tokens = new uint256[](context);
        uint256 mask = (1 << tokenBits) - 1;
        for (uint256 p; p < context; p++) tokens[p] = (promptState >> (tokenBits * p)) & mask;
    }
}
