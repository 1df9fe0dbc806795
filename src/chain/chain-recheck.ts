/**
 * Chain state is never assumed. At start, before anything is submitted, every record `verified` on
 * the chain the gateway is connected to (its chain id) is checked against that chain: its transaction
 * must be there, successful, in the block the record names, with a log of the contract it names. One
 * that is not (a fresh embedded chain, a state file that lost its last seconds, another node on the
 * same chain id, a reorg) may still be recorded by another transaction: the contracts are asked
 * (src/chain/submission.ts) and the record then names that one. Otherwise it goes back to `proved`,
 * the reason in `error`, and the submitter sends it again.
 *
 * Records of other chain ids are left as they are: they name their chain, and this gateway cannot see
 * it. A record the RPC cannot answer for stays `verified`, counted as unchecked.
 */
import type { Logger } from "pino";
import type { ProofRecord } from "../core/proof-record.js";
import type { ProofStore } from "../store/proof-store.js";
import type { ChainConnection } from "./chain-connection.js";
import type { Deployment } from "./deployment.js";
import { type Submission, SubmissionContracts } from "./submission.js";

export interface ChainRecheckOptions {
  readonly store: ProofStore;
  readonly chain: ChainConnection;
  readonly deployment: Deployment;
  readonly logger: Logger;
  /** Records read and checked at once. @defaultValue 100 */
  readonly pageSize?: number;
}

export interface ChainRecheckResult {
  /** Verified records of this chain id looked at. */
  readonly checked: number;
  /** Their transaction is on the chain as recorded. */
  readonly held: number;
  /** Recorded on the chain by another transaction than the one they named: they name that one now. */
  readonly repointed: number;
  /** Not on the chain: moved back to `proved` to be submitted again. */
  readonly moved: number;
  /** The RPC failed for them: left `verified`. */
  readonly unchecked: number;
}

type Verdict = "held" | "repointed" | "moved" | "unchecked";

export async function recheckVerified(options: ChainRecheckOptions): Promise<ChainRecheckResult> {
  const { store, chain, logger } = options;
  const contracts = new SubmissionContracts(options.deployment, chain.provider);
  const counts: Record<Verdict, number> = { held: 0, repointed: 0, moved: 0, unchecked: 0 };
  let checked = 0;
  let after: string | undefined;
  for (;;) {
    const page = await store.findOnChain({
      status: "verified",
      chainId: chain.chainId,
      after,
      limit: options.pageSize ?? 100,
    });
    if (page.length === 0) break;
    after = page.at(-1)!.id;
    const verdicts = await Promise.all(
      page.map((record) =>
        recheck(record, options, contracts).catch((err: unknown) => {
          logger.warn(
            { proofId: record.id, err: (err as Error).message },
            "could not re-check a verified record against the chain; left verified",
          );
          return "unchecked" as const;
        }),
      ),
    );
    for (const verdict of verdicts) counts[verdict]++;
    checked += page.length;
  }
  const result = { checked, ...counts };
  logger.info(
    { chainId: chain.chainId, ...result },
    `re-checked ${checked} verified records against chain ${chain.chainId}: ${counts.moved} no longer on it, moved back to proved`,
  );
  return result;
}

async function recheck(
  record: ProofRecord,
  options: ChainRecheckOptions,
  contracts: SubmissionContracts,
): Promise<Verdict> {
  const { store, chain, logger } = options;
  const receipt = record.chain!;
  const mined = await chain.provider.getTransactionReceipt(receipt.txHash);
  const contract = receipt.contract.toLowerCase();
  if (
    mined &&
    mined.status === 1 &&
    BigInt(mined.blockNumber) === receipt.blockNumber &&
    mined.logs.some((log) => log.address.toLowerCase() === contract)
  )
    return "held";
  const gone = `chain ${chain.chainId} no longer holds transaction ${receipt.txHash} (block ${receipt.blockNumber})`;
  let why = gone;
  let submission: Submission | undefined;
  try {
    submission = contracts.submissionFor(record);
  } catch (err) {
    why = `${gone}; ${(err as Error).message}`;
  }
  // the contracts this gateway submits to may hold it under another transaction; contracts it no longer uses are not asked
  if (submission && submission.contract.toLowerCase() === contract) {
    const onChain = await submission.onChain();
    if (onChain.state === "recorded") {
      const other = await chain.provider.getTransactionReceipt(onChain.log.transactionHash);
      if (!other) throw new Error(`no receipt for ${onChain.log.transactionHash}`);
      const inputCommitment = await submission.inputCommitment();
      const chainReceipt = {
        ...receipt,
        txHash: other.hash,
        blockNumber: BigInt(other.blockNumber),
        gasUsed: other.gasUsed,
        inputCommitment,
        submittedBy: other.from,
      };
      await store.update(record.id, { chain: chainReceipt });
      logger.info(
        { proofId: record.id, was: receipt.txHash, tx: other.hash },
        "re-check: the chain holds this record in another transaction; recording that one",
      );
      return "repointed";
    }
    if (onChain.state === "conflict") why = `${gone}; ${onChain.reason}`;
  }
  const moved = await store.transition(record.id, "verified", "proved", {
    chain: null,
    error: `re-check at start: ${why}; submitting again`,
  });
  if (!moved) return "unchecked"; // another gateway on this store moved it first
  logger.warn(
    { proofId: record.id, tx: receipt.txHash, reason: why },
    "re-check: a verified record is not on the chain; moved back to proved",
  );
  return "moved";
}
