/**
 * Proved records → the chain. The store is the work list: records `proved` whose request says
 * `submit`, and records left `submitted` by a process that stopped, are picked up on every poll, so
 * nothing depends on a message that can be lost. One record at a time per process: a single signer
 * and its NonceManager never race for a nonce.
 *
 * Idempotent: before sending, the registry (or the oracle) is asked whether the inference, trace or
 * request is already on-chain; if so the record takes the transaction that put it there (found from
 * its event). An RPC that fails leaves the record where it is and is retried with backoff; a revert is
 * final and the record fails with the contract's reason.
 */
import { Contract, solidityPackedKeccak256, type InterfaceAbi, type Log, type TransactionReceipt } from "ethers";
import type { Logger } from "pino";
import type { ProofRecord, ProofTimings } from "../core/proof-record.js";
import type { InferenceProofRequest, ProofRequest } from "../prover/proof-request.js";
import type { ProofStore } from "../store/proof-store.js";
import type { ChainConnection } from "./chain-connection.js";
import { contract, type ContractsArtifact } from "./contract-build.js";
import type { Deployment } from "./deployment.js";
import { PollingLoop } from "./polling-loop.js";
import { proofWords, type Groth16ProofJson } from "./proof-calldata.js";

export interface ChainSubmitterOptions {
  readonly store: ProofStore;
  readonly chain: ChainConnection;
  readonly deployment: Deployment;
  readonly artifact: ContractsArtifact;
  readonly logger: Logger;
  /** @defaultValue 250 */
  readonly pollMs?: number;
  /** A `submitted` record not written for this long lost its submitter and is taken over. @defaultValue 30000 */
  readonly leaseMs?: number;
  /** First retry delay after an RPC failure, doubled each time up to 30 s. @defaultValue 500 */
  readonly backoffMs?: number;
  readonly now?: () => number;
}

/** Whether a proved record goes on-chain (records made before submission existed do not). */
export function wantsChain(record: ProofRecord): boolean {
  return (record.request as ProofRequest | null)?.submit === true;
}

/** A revert: the contract said no, and saying it again will not change that. */
class Reverted extends Error {
  constructor(
    message: string,
    readonly alreadyRecorded = false,
  ) {
    super(message);
  }
}

interface Submission {
  readonly target: Contract;
  readonly method: string;
  readonly args: unknown[];
  /** The input commitment the registry records it under, decimal: the receipt's `inputCommitment`. */
  inputCommitment(): Promise<string>;
  /** Already on-chain: the log that recorded it, or null. */
  findExisting(): Promise<Log | null>;
}

const MAX_BACKOFF_MS = 30_000;
/** Submissions beaten by another transaction in a row before the record fails (it should find that one on-chain at once). */
const MAX_RACES = 3;

export class ChainSubmitter {
  private readonly registry: Contract;
  private readonly oracle: Contract;
  private readonly retryAt = new Map<string, { at: number; delay: number; races?: number }>();
  private readonly loop: PollingLoop;
  private readonly now: () => number;

  constructor(private readonly options: ChainSubmitterOptions) {
    const { artifact, deployment, chain } = options;
    this.registry = new Contract(deployment.registry, contract(artifact, "InferenceRegistry").abi as InterfaceAbi, chain.signer);
    // the registry's errors too: fulfill calls it, and its reverts should read by name
    const oracleAbi = contract(artifact, "InferenceOracle").abi;
    const registryErrors = contract(artifact, "InferenceRegistry").abi.filter((e) => e.type === "error" && !oracleAbi.some((o) => o.type === "error" && o.name === e.name));
    this.oracle = new Contract(deployment.oracle, [...oracleAbi, ...registryErrors] as InterfaceAbi, chain.signer);
    this.now = options.now ?? Date.now;
    this.loop = new PollingLoop(() => this.pass(), options.pollMs ?? 250, (err) => options.logger.error({ err }, "chain submission pass failed"));
  }

  start(): void {
    this.loop.start();
  }

  /** Lets the record in hand finish (or reach its next retry point), then stops. */
  stop(): Promise<void> {
    return this.loop.stop();
  }

  /** One look at the store: every record due for submission, oldest first. */
  async pass(): Promise<void> {
    const { store } = this.options;
    const leaseMs = this.options.leaseMs ?? 30_000;
    // records this process claimed and must retry stay `submitted` and fresh: take them on their backoff
    const own = this.retryAt.size > 0 ? (await store.findByStatus({ statuses: ["submitted"], limit: 1000 })).filter((r) => this.retryAt.has(r.id)) : [];
    const stale = await store.findByStatus({ statuses: ["submitted"], olderThanMs: leaseMs, limit: 100 });
    const due = [...(await store.findByStatus({ statuses: ["proved"], limit: 100 })), ...own, ...stale.filter((r) => !this.retryAt.has(r.id))].filter(wantsChain);
    for (const record of due) {
      if (this.loop.isStopped) return;
      const retry = this.retryAt.get(record.id);
      if (retry && retry.at > this.now()) continue;
      await this.submit(record);
    }
  }

  /** Takes one record from `proved` (or a stale `submitted`) to `verified` or `failed`. */
  async submit(record: ProofRecord): Promise<void> {
    const { store, logger, chain, deployment } = this.options;
    const started = this.now();
    // claim it: proved → submitted, or refresh a stale submitted record's lease (a takeover)
    const claimed = record.status === "proved" ? await store.transition(record.id, "proved", "submitted") : await store.update(record.id, { error: null });
    if (!claimed) return;
    let submission: Submission;
    try {
      submission = this.submissionFor(claimed);
    } catch (err) {
      await store.transition(record.id, "submitted", "failed", { error: `cannot submit: ${(err as Error).message}` });
      return;
    }
    const contractAddress = String(submission.target.target);
    try {
      const inputCommitment = await submission.inputCommitment();
      const existing = await submission.findExisting();
      let receipt: TransactionReceipt;
      if (existing) {
        receipt = (await chain.provider.getTransactionReceipt(existing.transactionHash))!;
        logger.info({ proofId: record.id, tx: existing.transactionHash }, "already on-chain; recording that transaction");
      } else {
        receipt = await this.send(claimed, submission, contractAddress, inputCommitment);
      }
      const timings: ProofTimings = { submit: Math.round(this.now() - started) };
      await store.transition(record.id, "submitted", "verified", {
        chain: { chainId: deployment.chain_id, contract: contractAddress, txHash: receipt.hash, blockNumber: BigInt(receipt.blockNumber), gasUsed: receipt.gasUsed, inputCommitment },
        timings,
      });
      this.retryAt.delete(record.id);
    } catch (err) {
      const races = (this.retryAt.get(record.id)?.races ?? 0) + 1;
      if (err instanceof Reverted && err.alreadyRecorded && races <= MAX_RACES) {
        // someone else's transaction got there first: record that one on the next pass
        this.retryAt.set(record.id, { at: this.now(), delay: 0, races });
        return;
      }
      if (err instanceof Reverted) {
        await store.transition(record.id, "submitted", "failed", { error: err.message });
        this.retryAt.delete(record.id);
        return;
      }
      const delay = Math.min(MAX_BACKOFF_MS, Math.max(this.retryAt.get(record.id)?.delay ?? 0, (this.options.backoffMs ?? 500) / 2) * 2);
      this.retryAt.set(record.id, { at: this.now() + delay, delay });
      chain.signer.reset(); // a send that failed may or may not have used its nonce: ask the chain again
      logger.warn({ proofId: record.id, err: (err as Error).message, retryInMs: delay }, "chain submission failed; will retry");
      await store.update(record.id, { error: `submission retrying: ${(err as Error).message}` }).catch(() => undefined);
    }
  }

  private async send(record: ProofRecord, submission: Submission, contractAddress: string, inputCommitment: string): Promise<TransactionReceipt> {
    const { store, deployment } = this.options;
    const fn = submission.target.getFunction(submission.method);
    let gas: bigint;
    try {
      gas = await fn.estimateGas(...submission.args);
    } catch (err) {
      throw revertOrRetry(err, submission.target);
    }
    // room above the estimate: the pairing precompile's cost is exact, but storage refunds are not
    const tx = await fn.send(...submission.args, { gasLimit: (gas * 12n) / 10n + 20_000n });
    await store.update(record.id, { chain: { chainId: deployment.chain_id, contract: contractAddress, txHash: tx.hash, blockNumber: null, gasUsed: null, inputCommitment } });
    let receipt: TransactionReceipt | null;
    try {
      receipt = await tx.wait(1, 120_000);
    } catch (err) {
      throw revertOrRetry(err, submission.target);
    }
    if (!receipt) throw new Error(`no receipt for ${tx.hash}`);
    return receipt;
  }

  private submissionFor(record: ProofRecord): Submission {
    const request = record.request as ProofRequest;
    const model = this.options.deployment.models[request.circuit];
    if (!model) throw new Error(`circuit ${request.circuit} is not registered on chain ${this.options.deployment.chain_id}`);
    const key = model.key;
    const { registry } = this;
    const from = this.options.deployment.from_block;
    if (request.kind === "inference") {
      const signals = record.publicSignals!;
      const proof = proofWords(record.proof as Groth16ProofJson);
      // what the registry records the inference under, and its output: asked once per submission
      let decoded: Promise<[bigint, bigint]> | undefined;
      const decode = (): Promise<[bigint, bigint]> => (decoded ??= registry.decode(key, signals) as Promise<[bigint, bigint]>);
      const inputCommitment = async (): Promise<string> => (await decode())[0].toString();
      if (request.oracle) return this.fulfillment(request, proof, signals, inputCommitment);
      return {
        target: registry,
        method: "verifyAndRecord",
        args: [key, proof, signals],
        inputCommitment,
        async findExisting() {
          const [commitment, output] = await decode();
          const [verified, recorded] = (await registry.inference(key, commitment)) as [boolean, bigint];
          if (!verified) return null;
          // the same input under the same nonce, but another output: not this proof's transaction
          if (recorded !== output) throw new Reverted(`the registry holds output ${recorded} for input commitment ${commitment}, not this proof's ${output}`);
          return firstLog(await registry.queryFilter(registry.filters.InferenceVerified(key, commitment), from));
        },
      };
    }
    // a generation: every choice's steps as one trace each, all verified in one batch. Choices that
    // start from the same state (n > 1 at temperature 0: same prompt, same nonce) are the same trace,
    // which the registry records once: it goes in once.
    const byChoice = new Map<number, ProofRecord["steps"]>();
    for (const step of [...record.steps].sort((a, b) => a.index - b.index)) {
      const choice = (step.output as { choice: number }).choice;
      byChoice.set(choice, [...(byChoice.get(choice) ?? []), step]);
    }
    const traces = new Map<string, ProofRecord["steps"]>();
    for (const trace of byChoice.values()) if (!traces.has(trace[0].publicSignals![0])) traces.set(trace[0].publicSignals![0], trace);
    const first = [...traces.keys()][0];
    // what still has to go: traces found on-chain already are left out of the transaction
    const pending = new Map(traces);
    return {
      target: registry,
      method: "recordTraces",
      get args() {
        const steps = [...pending.values()].flat();
        return [key, steps.map((s) => proofWords(s.proof as Groth16ProofJson)), steps.flatMap((s) => s.publicSignals!), [...pending.values()].map((t) => t.length)];
      },
      // a trace is recorded under its prompt state: the first trace's stands for the record
      inputCommitment: async () => first,
      async findExisting() {
        for (const [prompt, trace] of traces) {
          if (((await registry.traceBlock(key, prompt, tokensHash(trace))) as bigint) !== 0n) pending.delete(prompt);
        }
        if (pending.size > 0) return null;
        return firstLog(await registry.queryFilter(registry.filters.TraceVerified(key, first, tokensHash(traces.get(first)!)), from));
      },
    };
  }

  private fulfillment(request: InferenceProofRequest, proof: bigint[], signals: readonly string[], inputCommitment: () => Promise<string>): Submission {
    const { oracle } = this;
    const ref = request.oracle!;
    const from = this.options.deployment.from_block;
    return {
      target: oracle,
      method: "fulfill",
      args: [ref.request_id, ref.input, proof, signals],
      inputCommitment,
      async findExisting() {
        const status = ((await oracle.requests(ref.request_id)) as unknown[])[3] as bigint;
        if (status === 1n) return null; // still pending
        if (status === 0n) throw new Reverted(`the oracle at ${ref.contract} has no request ${ref.request_id}`);
        const fulfilled = firstLog(await oracle.queryFilter(oracle.filters.InferenceFulfilled(ref.request_id), from));
        if (!fulfilled) throw new Reverted(`oracle request ${ref.request_id} was ${status === 3n ? "refunded" : "closed"} before it could be fulfilled`);
        return fulfilled;
      },
    };
  }
}

/** What the registry records a trace's tokens as: keccak of abi.encodePacked(uint256[]). */
function tokensHash(steps: ProofRecord["steps"]): string {
  return solidityPackedKeccak256(["uint256[]"], [steps.map((s) => (s.output as { token: number }).token)]);
}

function firstLog(logs: readonly Log[]): Log | null {
  return logs[0] ?? null;
}

/**
 * ethers reports a revert as CALL_EXCEPTION. A provider call (estimateGas, a receipt) leaves a custom
 * error undecoded (`revert` null, the raw `data` kept): the target's ABI names it.
 */
function revertOrRetry(err: unknown, target: Contract): Error {
  const e = err as { code?: string; revert?: { name: string; args: unknown[] } | null; data?: string | null; shortMessage?: string; message: string };
  if (e.code !== "CALL_EXCEPTION") return err as Error;
  let revert = e.revert ?? null;
  if (!revert && e.data && e.data !== "0x") {
    try {
      const parsed = target.interface.parseError(e.data);
      if (parsed) revert = { name: parsed.name, args: [...parsed.args] };
    } catch {
      // not an error of this ABI: keep ethers's message
    }
  }
  const reason = revert ? `${revert.name}(${revert.args.map(String).join(", ")})` : (e.shortMessage ?? e.message);
  return new Reverted(`reverted on-chain: ${reason}`, revert?.name === "AlreadyRecorded");
}
