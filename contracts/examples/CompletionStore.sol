// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {InferenceRegistry} from "contracts/InferenceRegistry.sol";
import {BytePairDecoder} from "contracts/lib/BytePairDecoder.sol";

/// @title CompletionStore
/// @notice Keeps texts a language model generated, each only as it was served: for a request given in
/// full (prompt tokens, max_tokens, stop strings and the gateway's salt), the store recomputes the
/// request's nonce and first state itself, so the trace must start at exactly that prompt; the tokens
/// must hash to a trace the registry verified from there; and the trace must be complete (max_tokens
/// reached, end-of-text, or a stop string completed by its last token, with no end before). The text is
/// decoded on-chain with the model's byte-pair merge table and cut at the stop string, as served.
/// @dev The nonce is src/core/request-binding.ts's `requestNonce(generationContentHash(prompt,
/// maxTokens, stop), salt, nonceBits)`, with the same abi encoding; the first state is the window of
/// src/witness/step-windows.ts (the last `context` prompt tokens, left-padded with end-of-text, oldest
/// in the low bits) with the nonce above it. Stop strings are matched on bytes, which for valid UTF-8
/// is the gateway's match on characters.
contract CompletionStore {
    struct Completion {
        address storedBy;
        string prompt;
        string text;
    }

    /// What a generation request committed to, as the gateway's proof record holds it.
    struct Request {
        uint256[] prompt;
        uint256 maxTokens;
        string[] stop;
        bytes32 salt;
    }

    /// The domain of a gateway request's nonce (REQUEST_DOMAIN in src/core/request-binding.ts).
    bytes32 public constant REQUEST_DOMAIN = keccak256("proofgate.request.v1");
    /// Bits of a decoding step's state (WORD_BITS in src/circuit/emit-circuit.ts): the nonce has what the window leaves.
    uint256 private constant WORD_BITS = 253;

    InferenceRegistry public immutable registry;
    bytes32 public immutable model;
    uint256 public immutable endOfText;
    uint256 public immutable nonceBits;
    uint256 private immutable tokenBits;
    uint256 private immutable context;
    /// The tokenizer's merges, 4 bytes each (left, right as 2-byte ids): id 256 + k is merge k.
    bytes public merges;

    /// By trace id: keccak(prompt state, keccak(abi.encodePacked(tokens))).
    mapping(bytes32 traceId => Completion) private _completions;

    event CompletionStored(bytes32 indexed traceId, uint256 indexed promptState, address indexed storedBy, string prompt, string text);

    error TraceNotVerified(uint256 promptState);
    error AlreadyStored(bytes32 traceId);
    /// A prompt token does not fit a window slot (it would spill into the next one).
    error TokenOutOfRange(uint256 token);
    error TooManyTokens(uint256 length, uint256 maxTokens);
    /// The generation had ended before the trace's last token: it was extended past what was served.
    error EndOfTextBeforeEnd(uint256 position);
    error StopStringBeforeEnd(uint256 stopIndex);
    /// Neither max_tokens, end-of-text nor a stop string ends the trace: it is a prefix of what was served.
    error IncompleteTrace(uint256 length);

    constructor(InferenceRegistry registry_, bytes32 model_, bytes memory merges_, uint256 endOfText_) {
        registry = registry_;
        model = model_;
        merges = merges_;
        endOfText = endOfText_;
        (,,, uint8 bits, uint16 ctx,) = registry_.models(model_);
        tokenBits = bits;
        context = ctx;
        nonceBits = WORD_BITS - uint256(bits) * ctx;
    }

    /// Stores the completion `tokens` of `request` if they are its whole verified trace.
    function store(Request calldata request, uint256[] calldata tokens) external returns (bytes32 traceId, string memory text) {
        uint256 state = promptState(request);
        if (!registry.isTraceVerified(model, state, tokens)) revert TraceNotVerified(state);
        traceId = keccak256(abi.encode(state, keccak256(abi.encodePacked(tokens))));
        if (_completions[traceId].storedBy != address(0)) revert AlreadyStored(traceId);
        bytes memory table = merges;
        text = string(_servedText(request, tokens, table));
        string memory prompt = string(BytePairDecoder.decode(request.prompt, table, endOfText));
        _completions[traceId] = Completion(msg.sender, prompt, text);
        emit CompletionStored(traceId, state, msg.sender, prompt, text);
    }

    function completion(bytes32 traceId) external view returns (address storedBy, string memory prompt, string memory text) {
        Completion storage c = _completions[traceId];
        return (c.storedBy, c.prompt, c.text);
    }

    /// The nonce the gateway proved `request` under.
    function requestNonce(Request calldata request) public view returns (uint256) {
        bytes32 content = keccak256(abi.encode(request.prompt, request.maxTokens, keccak256(abi.encode(request.stop))));
        return uint256(keccak256(abi.encode(REQUEST_DOMAIN, content, request.salt))) >> (256 - nonceBits);
    }

    /// The state the request's first decoding step starts from: its prompt window and its nonce.
    function promptState(Request calldata request) public view returns (uint256 state) {
        uint256 n = request.prompt.length;
        for (uint256 p; p < context; p++) {
            // slot p holds prompt[n - context + p], or end-of-text where the prompt is shorter
            uint256 token = n + p >= context ? request.prompt[n + p - context] : endOfText;
            if (token >> tokenBits != 0) revert TokenOutOfRange(token);
            state |= token << (tokenBits * p);
        }
        state |= requestNonce(request) << (tokenBits * context);
    }

    /// The text served for a complete trace: all of it, or up to its first stop string.
    function _servedText(Request calldata request, uint256[] calldata tokens, bytes memory table) private view returns (bytes memory text) {
        uint256 n = tokens.length; // ≥ 1: the registry records no empty trace
        if (n > request.maxTokens) revert TooManyTokens(n, request.maxTokens);
        for (uint256 k; k + 1 < n; k++) if (tokens[k] == endOfText) revert EndOfTextBeforeEnd(k);
        text = BytePairDecoder.decode(tokens, table, endOfText);
        uint256[] memory last = new uint256[](1);
        last[0] = tokens[n - 1];
        // where the last token's bytes start: a stop string completed before it ended the generation there
        uint256 lastStart = text.length - BytePairDecoder.decode(last, table, endOfText).length;
        uint256 cut = type(uint256).max;
        for (uint256 s; s < request.stop.length; s++) {
            bytes memory stop = bytes(request.stop[s]);
            uint256 at = _indexOf(text, stop);
            if (at == type(uint256).max) continue;
            if (at + stop.length <= lastStart) revert StopStringBeforeEnd(s);
            if (at < cut) cut = at;
        }
        if (cut != type(uint256).max) {
            assembly ("memory-safe") {
                mstore(text, cut)
            }
            return text;
        }
        if (n != request.maxTokens && tokens[n - 1] != endOfText) revert IncompleteTrace(n);
    }

    /// The first position of `needle` in `hay`, or type(uint256).max.
    function _indexOf(bytes memory hay, bytes memory needle) private pure returns (uint256) {
        uint256 m = needle.length;
        if (m == 0) return 0;
        if (m > hay.length) return type(uint256).max;
        unchecked {
            for (uint256 i; i + m <= hay.length; i++) {
                uint256 j;
                while (j < m && hay[i + j] == needle[j]) j++;
                if (j == m) return i;
            }
        }
        return type(uint256).max;
    }
}
