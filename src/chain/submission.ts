/**
 * One record's way on-chain: the call that records it (the registry's `verifyAndRecord` or
 * `recordTraces`, the oracle's `fulfill`) and what the chain already holds of it, asked of the
 * contracts' state, never read from a revert: a mined revert carries no reason, and a transaction
 * copied from the mempool makes ours revert although the inference is recorded. The submitter asks
 * before it sends and after anything fails; the start-up re-check asks for records whose transaction
 * is gone.
 */
import {
  solidityPackedKeccak256,
  type ContractRunner,
  type ContractTransaction,
  type Interface,
  type Log,
} from "ethers";
import type { ProofRecord } from "../core/proof-record.js";
import type { InferenceProofRequest, ProofRequest } from "../prover/proof-request.js";
import type { TypedContractEvent, TypedDeferredTopicFilter } from "./bindings/common.js";
import { InferenceOracleStatus } from "./bindings/enums.js";
import {
  InferenceOracle__factory,
  InferenceRegistry__factory,
  type InferenceOracle,
  type InferenceRegistry,
} from "./bindings/index.js";
import type { Deployment } from "./deployment.js";
import { proofWords, type Groth16ProofJson } from "./proof-calldata.js";

/** What the chain holds of a record. */
export type OnChain =
  /** Not there (yet): send it. */
  | { readonly state: "absent" }
  /** Recorded by the transaction of this log, whoever sent it. */
  | { readonly state: "recorded"; readonly log: Log }
  /** The chain holds something this record contradicts (another output for its input, a closed request): it cannot go on. */
  | { readonly state: "conflict"; readonly reason: string };

export interface Submission {
  /** The contract that records it: the receipt's `contract`. */
  readonly contract: string;
  /** What its reverts decode against: the contract's errors, and for the oracle the registry's (fulfill calls it). */
  readonly errors: readonly Interface[];
  /** The transaction that records it (target and calldata), made at each send: a generation leaves out the traces found on-chain already. */
  transaction(): Promise<ContractTransaction>;
  /**
   * Whether a transaction sent with `args` is the one that stands for the record: always, except for a
   * generation whose first trace another transaction recorded already (the record names that one).
   */
  readonly sendsFirst: boolean;
  /** The input commitment the registry records it under, decimal: the receipt's `inputCommitment`. */
  inputCommitment(): Promise<string>;
  /** Asks the contracts; an RPC failure throws. */
  onChain(): Promise<OnChain>;
}

/** The contracts a submission calls, on one runner (the gateway's signer, or a provider to read). */
export class SubmissionContracts {
  readonly registry: InferenceRegistry;
  readonly oracle: InferenceOracle;

  constructor(
    private readonly deployment: Deployment,
    runner: ContractRunner,
  ) {
    this.registry = InferenceRegistry__factory.connect(deployment.registry, runner);
    this.oracle = InferenceOracle__factory.connect(deployment.oracle, runner);
  }

  /** Throws when the record cannot be submitted here (its circuit is not registered on this chain). */
  submissionFor(record: ProofRecord): Submission {
    const request = record.request as ProofRequest;
    const model = this.deployment.models[request.circuit];
    if (!model) throw new Error(`circuit ${request.circuit} is not registered on chain ${this.deployment.chain_id}`);
    if (request.kind === "inference") return this.inference(record, request, model.key);
    return this.traces(record, model.key);
  }

  private inference(record: ProofRecord, request: InferenceProofRequest, key: string): Submission {
    const { registry } = this;
    const signals = [...record.publicSignals!];
    const proof = proofWords(record.proof as Groth16ProofJson);
    // what the registry records the inference under, and its output: asked once per submission
    let decoded: Promise<Decoded> | undefined;
    const decode = (): Promise<Decoded> =>
      (decoded ??= registry.decode(key, signals).catch((err: unknown) => {
        decoded = undefined; // an RPC failure is asked again next time
        throw err;
      }));
    const inputCommitment = async (): Promise<string> => (await decode()).inputCommitment.toString();
    if (request.oracle) return this.fulfillment(request, proof, signals, decode);
    return {
      contract: this.deployment.registry,
      errors: [registry.interface],
      transaction: () => registry.verifyAndRecord.populateTransaction(key, proof, signals),
      sendsFirst: true,
      inputCommitment,
      async onChain() {
        const { inputCommitment: commitment, output } = await decode();
        const recorded = await registry.inference(key, commitment);
        if (!recorded.verified) return { state: "absent" };
        // the same input under the same nonce, but another output: not this proof's transaction
        if (recorded.output !== output)
          return {
            state: "conflict",
            reason: `the registry holds output ${recorded.output} for input commitment ${commitment}, not this proof's ${output}`,
          };
        return recordedBy(registry, registry.filters.InferenceVerified(key, commitment), Number(recorded.blockNumber));
      },
    };
  }

  /**
   * A generation: every choice's steps as one trace each, all verified in one batch. Choices that
   * start from the same state (n > 1 at temperature 0: same prompt, same nonce) are the same trace,
   * which the registry records once: it goes in once. The first trace's transaction stands for the
   * record (traces recorded by someone else may be in others).
   */
  private traces(record: ProofRecord, key: string): Submission {
    const { registry } = this;
    const byChoice = new Map<number, ProofRecord["steps"]>();
    for (const step of [...record.steps].sort((a, b) => a.index - b.index)) {
      const choice = (step.output as { choice: number }).choice;
      byChoice.set(choice, [...(byChoice.get(choice) ?? []), step]);
    }
    const traces = new Map<string, ProofRecord["steps"]>();
    for (const trace of byChoice.values())
      if (!traces.has(trace[0].publicSignals![0])) traces.set(trace[0].publicSignals![0], trace);
    const first = [...traces.keys()][0];
    // what still has to go: traces found on-chain already are left out of the transaction
    const pending = new Map(traces);
    return {
      contract: this.deployment.registry,
      errors: [registry.interface],
      transaction() {
        const steps = [...pending.values()].flat();
        return registry.recordTraces.populateTransaction(
          key,
          steps.map((s) => proofWords(s.proof as Groth16ProofJson)),
          steps.flatMap((s) => s.publicSignals!),
          [...pending.values()].map((t) => t.length),
        );
      },
      get sendsFirst() {
        return pending.has(first);
      },
      // a trace is recorded under its prompt state: the first trace's stands for the record
      inputCommitment: async () => first,
      async onChain() {
        let firstBlock = 0n;
        for (const [prompt, trace] of traces) {
          const block = await registry.traceBlock(key, prompt, tokensHash(trace));
          if (prompt === first) firstBlock = block;
          if (block !== 0n) pending.delete(prompt);
        }
        if (pending.size > 0) return { state: "absent" };
        return recordedBy(
          registry,
          registry.filters.TraceVerified(key, first, tokensHash(traces.get(first)!)),
          Number(firstBlock),
        );
      },
    };
  }

  /**
   * An oracle request: "already done" is the request's status. Fulfilled with this proof's input
   * commitment is this record's answer, whoever sent it; fulfilled with another is someone else's.
   */
  private fulfillment(
    request: InferenceProofRequest,
    proof: bigint[],
    signals: string[],
    decode: () => Promise<Decoded>,
  ): Submission {
    const { oracle, registry } = this;
    const ref = request.oracle!;
    const { oracle: address, from_block: from } = this.deployment;
    return {
      contract: address,
      errors: [oracle.interface, registry.interface],
      transaction: () => oracle.fulfill.populateTransaction(ref.request_id, [...ref.input], proof, signals),
      sendsFirst: true,
      inputCommitment: async () => (await decode()).inputCommitment.toString(),
      async onChain() {
        const { status } = await oracle.requests(ref.request_id);
        if (status === InferenceOracleStatus.Pending) return { state: "absent" };
        if (status === InferenceOracleStatus.None)
          return { state: "conflict", reason: `the oracle at ${address} has no request ${ref.request_id}` };
        const fulfilled = (await oracle.queryFilter(oracle.filters.InferenceFulfilled(ref.request_id), from))[0];
        if (!fulfilled)
          return {
            state: "conflict",
            reason: `oracle request ${ref.request_id} was ${status === InferenceOracleStatus.Refunded ? "refunded" : "closed"} before it could be fulfilled`,
          };
        const { inputCommitment: commitment } = await decode();
        const answered = fulfilled.args.inputCommitment;
        if (answered !== commitment)
          return {
            state: "conflict",
            reason: `oracle request ${ref.request_id} was fulfilled in ${fulfilled.transactionHash} with another proof (input commitment ${answered})`,
          };
        return { state: "recorded", log: fulfilled };
      },
    };
  }
}

/** What the registry records an inference under, and its output: `InferenceRegistry.decode`. */
type Decoded = Awaited<ReturnType<InferenceRegistry["decode"]>>;

/** The event that recorded it, by its indexed topics, in the block the registry says recorded it. */
async function recordedBy(
  registry: InferenceRegistry,
  filter: TypedDeferredTopicFilter<TypedContractEvent>,
  block: number,
): Promise<OnChain> {
  const log = (await registry.queryFilter(filter, block, block))[0];
  if (!log) throw new Error(`the registry says block ${block} recorded it, but that block has no such event`);
  return { state: "recorded", log };
}

/** What the registry records a trace's tokens as: keccak of abi.encodePacked(uint256[]). */
function tokensHash(steps: ProofRecord["steps"]): string {
  return solidityPackedKeccak256(["uint256[]"], [steps.map((s) => (s.output as { token: number }).token)]);
}
