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
/// exactly that text. The board recomputes the classifier's features of the text on-chain and the
/// Poseidon commitment the proof carries, so no verdict about another text, or another model, fits.
/// Two ways in: `post` with the nonce of a verdict already in the registry (the gateway submitted it),
/// or `submit`, which asks the oracle and publishes when the verdict comes back.
contract MessageBoard is IInferenceConsumer {
    uint256 public constant HAM = 0;

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
    /// A verdict publishes one post.
    mapping(uint256 inputCommitment => bool) public used;

    event Posted(uint256 indexed index, address indexed author, uint256 inputCommitment, string text);
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

    /// Publishes `text` if the registry holds a verified "ham" verdict of it under `nonce`.
    function post(string calldata text, uint256 nonce) external returns (uint256 index) {
        uint256 commitment = inputCommitment(text, nonce);
        (bool verified, uint256 label,) = registry.inference(spamModel, commitment);
        if (!verified) revert NoVerdict(commitment);
        if (label != HAM) revert Spam(commitment);
        return _publish(msg.sender, text, commitment);
    }

    /// Asks the oracle for a verdict on `text` (send the oracle's fee); the post appears when a ham
    /// verdict comes back. `callbackGas` pays for the commitment and for storing the text (about
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
        // the oracle checked the proof's commitment against this request: the text's features, nonce = id
        _publish(p.author, p.text, inputCommitment(p.text, requestId));
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

    function _publish(address author, string memory text, uint256 commitment) private returns (uint256 index) {
        if (used[commitment]) revert VerdictUsed(commitment);
        used[commitment] = true;
        index = posts.length;
        posts.push(Post(author, text));
        emit Posted(index, author, commitment, text);
    }
}
