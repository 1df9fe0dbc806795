/**
 * Proved records → the chain. The store is the work list: records `proved` whose request says
 * `submit`, and records left `submitted` by a process that stopped, are picked up on every poll, so
 * nothing depends on a message that can be lost. One record at a time per process: a single signer
 * and its NonceManager never race for a nonce.
 *
 * The chain's state decides, not a revert: before sending, and after any failure, the registry (or
 * the oracle) is asked whether the record is already on-chain (src/chain/submission.ts); if it is,
 * the record takes the transaction that put it there and its sender (`chain.submitted_by`: us, or a
 * bot that copied our pending transaction and got in first, our own then reverting). What follows a
 * failure is src/chain/submission-policy.ts; when to try again, src/chain/retry-schedule.ts.
 */
import type { TransactionReceipt } from "ethers";
import type { Logger } from "pino";
import { DEFAULT_PROOF_LEASE_MS } from "../config/config.js";
import type { ProofRecord, ProofTimings } from "../core/proof-record.js";
import type { ProofRequest } from "../prover/proof-request.js";
import type { ProofStore } from "../store/proof-store.js";
import type { ChainConnection } from "./chain-connection.js";
import type { Deployment } from "./deployment.js";
import { PollingLoop } from "./polling-loop.js";
import { RetrySchedule } from "./retry-schedule.js";
import { SubmissionContracts, type Submission } from "./submission.js";
import { afterFailure, isRevert, sendFailure } from "./submission-policy.js";

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
  readonly logger: Logger;
  /** @defaultValue 250 */
  readonly pollMs?: number;
  /** A `submitted` record not written for this long lost its submitter and is taken over. @defaultValue DEFAULT_PROOF_LEASE_MS */
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

export class ChainSubmitter {
  private readonly contracts: SubmissionContracts;
  private readonly retries: RetrySchedule;
  private readonly loop: PollingLoop;
  private readonly now: () => number;

  constructor(private readonly options: ChainSubmitterOptions) {
    this.contracts = new SubmissionContracts(options.deployment, options.chain.signer);
    this.now = options.now ?? Date.now;
    this.retries = new RetrySchedule(options.backoffMs ?? 500, this.now);
    this.loop = new PollingLoop(
      () => this.pass(),
      options.pollMs ?? 250,
      (err) => options.logger.error({ err }, "chain submission pass failed"),
    );
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
    const leaseMs = this.options.leaseMs ?? DEFAULT_PROOF_LEASE_MS;
    // records this process claimed and must retry stay `submitted` and fresh: take them on their backoff
    const own =
      this.retries.size > 0
        ? (await store.findByStatus({ statuses: ["submitted"], limit: 1000 })).filter((r) => this.retries.has(r.id))
        : [];
    const stale = await store.findByStatus({ statuses: ["submitted"], olderThanMs: leaseMs, limit: 100 });
    const due = [
      ...(await store.findByStatus({ statuses: ["proved"], limit: 100 })),
      ...own,
      ...stale.filter((r) => !this.retries.has(r.id)),
    ].filter(wantsChain);
    for (const record of due) {
      if (this.loop.isStopped) return;
      if (this.retries.isWaiting(record.id)) continue;
      await this.submit(record);
    }
  }

  /** Takes one record from `proved` (or a stale `submitted`) to `verified` or `failed`. */
  async submit(record: ProofRecord): Promise<void> {
    const { store, logger } = this.options;
    const started = this.now();
    // claim it: proved → submitted, or refresh a stale submitted record's lease (a takeover)
    const claimed =
      record.status === "proved"
        ? await store.transition(record.id, "proved", "submitted")
        : await store.update(record.id, { error: null });
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
        logger.info(
          { proofId: record.id, tx: onChain.log.transactionHash },
          "already on-chain; recording that transaction",
        );
        return await this.verified(record.id, submission, await this.receipt(onChain.log.transactionHash), started);
      }
      const sendsFirst = submission.sendsFirst;
      const sent = await this.send(claimed, submission);
      await this.verified(record.id, submission, sendsFirst ? sent : await this.standingFor(submission, sent), started);
    } catch (err) {
      await this.afterFailure(record.id, submission, err as Error, started);
    }
  }

  /** Whatever failed, the chain may hold the record now: it is asked, and the submission policy decides. */
  private async afterFailure(id: string, submission: Submission, err: Error, started: number): Promise<void> {
    const { logger } = this.options;
    // every failed attempt counts, a front-run's revert included
    this.options.observer?.chainError(isRevert(err) ? "revert" : "rpc");
    const lookup = await submission.onChain().then(
      (onChain) => ({ onChain }),
      (error: unknown) => ({ error: error as Error }),
    );
    const next = afterFailure(err, lookup, this.retries.reverts(id));
    switch (next.action) {
      case "take":
        try {
          const receipt = await this.receipt(next.log.transactionHash);
          logger.info(
            { proofId: id, tx: receipt.hash, submittedBy: receipt.from, failure: err.message },
            "recorded on-chain by another transaction; taking that one",
          );
          return await this.verified(id, submission, receipt, started);
        } catch (takeErr) {
          return this.backoff(id, isRevert(err) ? (takeErr as Error) : err);
        }
      case "fail":
        return this.fail(id, next.reason);
      case "again":
        this.retries.again(id, next.reverts);
        logger.warn(
          { proofId: id, err: err.message },
          "submission reverted, and the chain does not hold the record; trying again",
        );
        return;
      case "backoff":
        return this.backoff(id, next.err);
    }
  }

  private async backoff(id: string, err: Error): Promise<void> {
    const { store, logger, chain } = this.options;
    const delay = this.retries.backoff(id);
    chain.signer.reset(); // a send that failed may or may not have used its nonce: ask the chain again
    logger.warn({ proofId: id, err: err.message, retryInMs: delay }, "chain submission failed; will retry");
    await store.update(id, { error: `submission retrying: ${err.message}` }).catch(() => undefined);
  }

  private async fail(id: string, reason: string): Promise<void> {
    await this.options.store.transition(id, "submitted", "failed", { error: reason });
    this.retries.clear(id);
  }

  private async verified(
    id: string,
    submission: Submission,
    receipt: TransactionReceipt,
    started: number,
  ): Promise<void> {
    const { store, deployment } = this.options;
    const timings: ProofTimings = { submit: Math.round(this.now() - started) };
    const { contract } = submission;
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
    this.retries.clear(id);
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

  /** Estimated on the current state (a revert there names its reason), sent with room above the estimate, waited for. */
  private async send(record: ProofRecord, submission: Submission): Promise<TransactionReceipt> {
    const { store, deployment, chain } = this.options;
    const tx = await submission.transaction();
    let gas: bigint;
    try {
      gas = await chain.signer.estimateGas(tx);
    } catch (err) {
      throw sendFailure(err, submission.errors, true);
    }
    // room above the estimate: the pairing precompile's cost is exact, but storage refunds are not
    const sent = await chain.signer.sendTransaction({ ...tx, gasLimit: (gas * 12n) / 10n + 20_000n });
    const pending = {
      chainId: deployment.chain_id,
      contract: submission.contract,
      txHash: sent.hash,
      blockNumber: null,
      gasUsed: null,
      inputCommitment: await submission.inputCommitment(),
    };
    await store.update(record.id, { chain: pending });
    let receipt: TransactionReceipt | null;
    try {
      receipt = await sent.wait(1, 120_000);
    } catch (err) {
      throw sendFailure(err, submission.errors, false);
    }
    if (!receipt) throw new Error(`no receipt for ${sent.hash}`);
    return receipt;
  }
}
