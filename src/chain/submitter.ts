/**
 * Proved records → the chain. The store is the work list: records `proved` whose request says
 * `submit`, and records left `submitted` by a process that stopped, are picked up on every poll, so
 * nothing depends on a message that can be lost. One record at a time per process: a single signer
 * and its NonceManager never race for a nonce.
 *
 * The chain's state decides, not a revert (src/chain/submission.ts): before sending, and after any
 * failure, the registry (or the oracle) is asked whether the record is already on-chain; if it is,
 * the record takes the transaction that put it there and its sender (`chain.submitted_by`: us, or a
 * bot that copied our pending transaction and got in first, our own then reverting). An RPC that
 * fails leaves the record where it is and is retried with backoff. A revert the chain's state does
 * not explain fails the record: at once when the contract names its reason before sending (a
 * simulation on the current state), after a few tries when only a mined transaction reverted.
 */
import type { TransactionReceipt } from "ethers";
import type { Logger } from "pino";
import type { ProofRecord, ProofTimings } from "../core/proof-record.js";
import type { ProofRequest } from "../prover/proof-request.js";
import type { ProofStore } from "../store/proof-store.js";
import type { ChainConnection } from "./chain-connection.js";
import type { ContractsArtifact } from "./contract-build.js";
import type { Deployment } from "./deployment.js";
import { PollingLoop } from "./polling-loop.js";
import { SubmissionContracts, type Submission } from "./submission.js";

/** What the submitter reports (to /metrics). */
export interface SubmissionObserver {
  /** A record went on-chain at `contract` (the receipt's), `gasUsed` as the receipt says. */
  submitted(contract: string, gasUsed: bigint | null): void;
  /** A submission attempt failed: the RPC (retried with backoff) or a revert. */
  chainError(kind: "rpc" | "revert"): void;
}

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
  readonly observer?: SubmissionObserver;
}

/** Whether a proved record goes on-chain (records made before submission existed do not). */
export function wantsChain(record: ProofRecord): boolean {
  return (record.request as ProofRequest | null)?.submit === true;
}

/** A revert. `simulated`: the contract said why on the current state; otherwise a mined transaction reverted, reason unknown. */
class Reverted extends Error {
  constructor(
    message: string,
    readonly simulated: boolean,
    readonly alreadyRecorded = false,
  ) {
    super(message);
  }
}

const MAX_BACKOFF_MS = 30_000;
/**
 * Reverts in a row that the chain's state does not explain (a mined revert while the registry holds
 * nothing of the record, or AlreadyRecorded for a trace another transaction just took) before the
 * record fails. A front-runner never counts: what it records is found and taken.
 */
const MAX_UNEXPLAINED_REVERTS = 3;

export class ChainSubmitter {
  private readonly contracts: SubmissionContracts;
  private readonly retryAt = new Map<string, { at: number; delay: number; reverts?: number }>();
  private readonly loop: PollingLoop;
  private readonly now: () => number;

  constructor(private readonly options: ChainSubmitterOptions) {
    this.contracts = new SubmissionContracts(options.artifact, options.deployment, options.chain.signer);
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
    const { store, logger } = this.options;
    const started = this.now();
    // claim it: proved → submitted, or refresh a stale submitted record's lease (a takeover)
    const claimed = record.status === "proved" ? await store.transition(record.id, "proved", "submitted") : await store.update(record.id, { error: null });
    if (!claimed) return;
    let submission: Submission;
    try {
      submission = this.contracts.submissionFor(claimed);
    } catch (err) {
      await this.fail(record.id, `cannot submit: ${(err as Error).message}`);
      return;
    }
    try {
      const onChain = await submission.onChain();
      if (onChain.state === "conflict") return await this.fail(record.id, onChain.reason);
      if (onChain.state === "recorded") {
        logger.info({ proofId: record.id, tx: onChain.log.transactionHash }, "already on-chain; recording that transaction");
        return await this.verified(record.id, submission, await this.receipt(onChain.log.transactionHash), started);
      }
      const sendsFirst = submission.sendsFirst;
      const sent = await this.send(claimed, submission);
      await this.verified(record.id, submission, sendsFirst ? sent : await this.standingFor(submission, sent), started);
    } catch (err) {
      await this.afterFailure(record.id, submission, err as Error, started);
    }
  }

  /** Whatever failed, the chain may hold the record now (a copy of our transaction mined first): ask it before anything else. */
  private async afterFailure(id: string, submission: Submission, err: Error, started: number): Promise<void> {
    const { logger } = this.options;
    // every failed attempt counts, a front-run's revert included
    this.options.observer?.chainError(err instanceof Reverted ? "revert" : "rpc");
    try {
      const onChain = await submission.onChain();
      if (onChain.state === "recorded") {
        const receipt = await this.receipt(onChain.log.transactionHash);
        logger.info({ proofId: id, tx: receipt.hash, submittedBy: receipt.from, failure: err.message }, "recorded on-chain by another transaction; taking that one");
        return await this.verified(id, submission, receipt, started);
      }
      if (onChain.state === "conflict") return await this.fail(id, onChain.reason);
    } catch (lookupErr) {
      // the chain cannot be asked now (a revert included: it is not taken at face value): back off, and ask again then
      return this.backoff(id, err instanceof Reverted ? (lookupErr as Error) : err);
    }
    if (err instanceof Reverted) {
      const reverts = (this.retryAt.get(id)?.reverts ?? 0) + 1;
      if ((err.simulated && !err.alreadyRecorded) || reverts >= MAX_UNEXPLAINED_REVERTS) {
        const times = reverts > 1 ? ` (${reverts} reverts in a row)` : "";
        return await this.fail(id, `${err.message}${times}; the registry holds nothing of this record`);
      }
      // a mined revert says no why, and AlreadyRecorded for a trace may be one of several: look again, at once
      this.retryAt.set(id, { at: this.now(), delay: 0, reverts });
      logger.warn({ proofId: id, err: err.message }, "submission reverted, and the chain does not hold the record; trying again");
      return;
    }
    await this.backoff(id, err);
  }

  private async backoff(id: string, err: Error): Promise<void> {
    const { store, logger, chain } = this.options;
    const previous = this.retryAt.get(id);
    const delay = Math.min(MAX_BACKOFF_MS, Math.max(previous?.delay ?? 0, (this.options.backoffMs ?? 500) / 2) * 2);
    this.retryAt.set(id, { at: this.now() + delay, delay, reverts: previous?.reverts });
    chain.signer.reset(); // a send that failed may or may not have used its nonce: ask the chain again
    logger.warn({ proofId: id, err: err.message, retryInMs: delay }, "chain submission failed; will retry");
    await store.update(id, { error: `submission retrying: ${err.message}` }).catch(() => undefined);
  }

  private async fail(id: string, reason: string): Promise<void> {
    await this.options.store.transition(id, "submitted", "failed", { error: reason });
    this.retryAt.delete(id);
  }

  private async verified(id: string, submission: Submission, receipt: TransactionReceipt, started: number): Promise<void> {
    const { store, deployment } = this.options;
    const timings: ProofTimings = { submit: Math.round(this.now() - started) };
    const contract = String(submission.target.target);
    const moved = await store.transition(id, "submitted", "verified", {
      chain: {
        chainId: deployment.chain_id,
        contract,
        txHash: receipt.hash,
        blockNumber: BigInt(receipt.blockNumber),
        gasUsed: receipt.gasUsed,
        inputCommitment: await submission.inputCommitment(),
        submittedBy: receipt.from,
      },
      timings,
      error: null,
    });
    if (moved) this.options.observer?.submitted(contract, receipt.gasUsed);
    this.retryAt.delete(id);
  }

  /** A generation completed by our transaction whose first trace another one recorded: that one stands for the record. */
  private async standingFor(submission: Submission, sent: TransactionReceipt): Promise<TransactionReceipt> {
    const onChain = await submission.onChain();
    return onChain.state === "recorded" ? this.receipt(onChain.log.transactionHash) : sent;
  }

  private async receipt(hash: string): Promise<TransactionReceipt> {
    const receipt = await this.options.chain.provider.getTransactionReceipt(hash);
    if (!receipt) throw new Error(`no receipt for ${hash}`);
    return receipt;
  }

  private async send(record: ProofRecord, submission: Submission): Promise<TransactionReceipt> {
    const { store, deployment } = this.options;
    const fn = submission.target.getFunction(submission.method);
    const args = submission.args;
    let gas: bigint;
    try {
      gas = await fn.estimateGas(...args);
    } catch (err) {
      throw revertOrRetry(err, submission, true);
    }
    // room above the estimate: the pairing precompile's cost is exact, but storage refunds are not
    const tx = await fn.send(...args, { gasLimit: (gas * 12n) / 10n + 20_000n });
    const pending = { chainId: deployment.chain_id, contract: String(submission.target.target), txHash: tx.hash, blockNumber: null, gasUsed: null, inputCommitment: await submission.inputCommitment() };
    await store.update(record.id, { chain: pending });
    let receipt: TransactionReceipt | null;
    try {
      receipt = await tx.wait(1, 120_000);
    } catch (err) {
      throw revertOrRetry(err, submission, false);
    }
    if (!receipt) throw new Error(`no receipt for ${tx.hash}`);
    return receipt;
  }
}

/**
 * ethers reports a revert as CALL_EXCEPTION. A provider call (estimateGas) leaves a custom error
 * undecoded (`revert` null, the raw `data` kept): the target's ABI names it. A mined revert has none.
 */
function revertOrRetry(err: unknown, submission: Submission, simulated: boolean): Error {
  const e = err as { code?: string; revert?: { name: string; args: unknown[] } | null; data?: string | null; shortMessage?: string; message: string };
  if (e.code !== "CALL_EXCEPTION") return err as Error;
  let revert = e.revert ?? null;
  if (!revert && e.data && e.data !== "0x") {
    try {
      const parsed = submission.target.interface.parseError(e.data);
      if (parsed) revert = { name: parsed.name, args: [...parsed.args] };
    } catch {
      // not an error of this ABI: keep ethers's message
    }
  }
  const reason = revert ? `${revert.name}(${revert.args.map(String).join(", ")})` : (e.shortMessage ?? e.message);
  return new Reverted(`reverted on-chain: ${reason}`, simulated && revert !== null, revert?.name === "AlreadyRecorded");
}
