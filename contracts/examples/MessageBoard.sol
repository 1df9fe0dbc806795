// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {InferenceRegistry} from "contracts/InferenceRegistry.sol";
import {IInferenceConsumer, InferenceOracle} from "contracts/InferenceOracle.sol";
import {HashedWords} from "contracts/lib/HashedWords.sol";

interface IPoseidon7 {
    function hash(uint256[7] calldata inputs) external pure returns (uint256);
}

/// @title MessageBoard
/// @notice A board that publishes a post only when the spam classifier's verdict "ham" was proven for
/// exactly that text. The classifier sees a set of hashed words, which many texts share (reordered,
/// or other words in the same buckets); the verdict's nonce is what binds the exact bytes. Two ways in:
/// - `post(text, salt)`: the verdict is in the registry (the gateway submitted it) under the nonce
///   keccak(REQUEST_DOMAIN, keccak(text), salt) >> 8, the gateway's request nonce for this text
///   (src/core/request-binding.ts). The board recomputes that nonce, the text's features and the
///   Poseidon commitment the proof carries, so no verdict about another text, or another model, fits.
/// - `submit(text)`: asks the oracle, whose nonce names the request and its fulfiller, so that verdict
///   serves only this request: it publishes the text of the author who asked, in the callback, and
///   can never be used by `post` (a nonce of the other derivation would need a keccak preimage).
contract MessageBoard is IInferenceConsumer {
    uint256 public constant HAM = 0;
    /// keccak256("proofgate.request.v1"): the domain of a gateway request's nonce.
    bytes32 public constant REQUEST_DOMAIN = keccak256("proofgate.request.v1");

    struct Post {
        address author;
        string text;
    }

    struct Pending {
        address author;
        string text;
    }

    InferenceRegistry public immutable registry;
    InferenceOracle public immutable oracle;
    bytes32 public immutable spamModel;
    IPoseidon7 public immutable poseidon;
    uint256 private immutable modelField;
    uint256 private immutable labelBits;

    Post[] public posts;
    mapping(uint256 requestId => Pending) public pending;
    /// A verdict in the registry publishes one post.
    mapping(uint256 inputCommitment => bool) public used;

    /// `post`: requestId 0 and the commitment of the registry's verdict. `submit`: the oracle request
    /// whose verdict published it (its InferenceFulfilled names the commitment) and 0.
    event Posted(uint256 indexed index, address indexed author, uint256 requestId, uint256 inputCommitment, string text);
    event Submitted(uint256 indexed requestId, address indexed author);
    event Rejected(uint256 indexed requestId, address indexed author, uint256 label);

    error NoVerdict(uint256 inputCommitment);
    error Spam(uint256 inputCommitment);
    error VerdictUsed(uint256 inputCommitment);
    error NotOracle();
    error NothingToRefund(uint256 requestId);
    error RefundFailed();

    constructor(InferenceRegistry registry_, InferenceOracle oracle_, bytes32 spamModel_, IPoseidon7 poseidon_) {
        registry = registry_;
        oracle = oracle_;
        spamModel = spamModel_;
        poseidon = poseidon_;
        modelField = registry_.modelField(spamModel_);
        (,,, uint8 bits,,) = registry_.models(spamModel_);
        labelBits = bits;
    }

    /// Publishes `text` if the registry holds a verified "ham" verdict of exactly these bytes, asked
    /// for with `salt` (the request's salt, which the gateway's proof record keeps).
    function post(string calldata text, bytes32 salt) external returns (uint256 index) {
        uint256 commitment = inputCommitment(text, textNonce(text, salt));
        (bool verified, uint256 label,) = registry.inference(spamModel, commitment);
        if (!verified) revert NoVerdict(commitment);
        if (label != HAM) revert Spam(commitment);
        if (used[commitment]) revert VerdictUsed(commitment);
        used[commitment] = true;
        return _publish(msg.sender, text, 0, commitment);
    }

    /// The nonce of a gateway request about these bytes with `salt`: requestNonce(textContentHash(text), salt, 248).
    function textNonce(string memory text, bytes32 salt) public pure returns (uint256) {
        return uint256(keccak256(abi.encode(REQUEST_DOMAIN, keccak256(bytes(text)), salt))) >> 8;
    }

    /// Asks the oracle for a verdict on `text` (send `oracle.fee(spamModel, callbackGas)`); the post
    /// appears when a ham verdict comes back. `callbackGas` pays for storing the text (about
    /// 25,000 gas per 32 bytes).
    function submit(string calldata text, uint32 callbackGas) external payable returns (uint256 requestId) {
        uint256[5] memory words = HashedWords.features(bytes(text));
        uint256[] memory input = new uint256[](5);
        for (uint256 i; i < 5; i++) input[i] = words[i];
        requestId = oracle.requestInference{value: msg.value}(spamModel, input, address(this), callbackGas);
        pending[requestId] = Pending(msg.sender, text);
        emit Submitted(requestId, msg.sender);
    }

    /// The oracle refunds an unanswered request to its requester: this board.
    receive() external payable {
        if (msg.sender != address(oracle)) revert NotOracle();
    }

    /// Hands the fee of a request nobody answered before the oracle's deadline back to its author
    /// (asking the oracle for the refund first, unless someone already has).
    function refund(uint256 requestId) external {
        address author = pending[requestId].author;
        if (author == address(0)) revert NothingToRefund(requestId);
        (,,, InferenceOracle.Status status,, uint96 fee,,) = oracle.requests(requestId);
        if (status == InferenceOracle.Status.Pending) oracle.refund(requestId); // NotExpired before the deadline
        else if (status != InferenceOracle.Status.Refunded) revert NothingToRefund(requestId);
        delete pending[requestId];
        (bool ok,) = author.call{value: fee}("");
        if (!ok) revert RefundFailed();
    }

    function onInference(uint256 requestId, uint256[] calldata output) external {
        if (msg.sender != address(oracle)) revert NotOracle();
        Pending memory p = pending[requestId];
        delete pending[requestId];
        if (output[0] != HAM) {
            emit Rejected(requestId, p.author, output[0]);
            return;
        }
        // the oracle checked the proof's commitment against this request's input (the text's features)
        // and its nonce (this request, this fulfiller); `pending` makes it publish once
        _publish(p.author, p.text, requestId, 0);
    }

    function postCount() external view returns (uint256) {
        return posts.length;
    }

    /// The commitment a classifier proof of `text` under `nonce` carries (label bits cleared).
    function inputCommitment(string memory text, uint256 nonce) public view returns (uint256) {
        uint256[5] memory words = HashedWords.features(bytes(text));
        uint256 c = poseidon.hash([modelField, nonce, words[0], words[1], words[2], words[3], words[4]]);
        return (c >> labelBits) << labelBits;
    }

    function _publish(address author, string memory text, uint256 requestId, uint256 commitment) private returns (uint256 index) {
        index = posts.length;
        posts.push(Post(author, text));
        emit Posted(index, author, requestId, commitment, text);
    }
}
