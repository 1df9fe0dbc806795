/**
 * What the submitter does after a failed attempt, decided by the chain's state, not by the failure:
 * whatever failed, the chain may hold the record now (a copy of our transaction mined first), so the
 * contracts are asked first (src/chain/submission.ts). An RPC failure is retried with backoff; a
 * revert the chain's state does not explain fails the record, at once when the contract named its
 * reason on the current state (an estimate), after a few tries when only a mined transaction
 * reverted, or when the reason was AlreadyRecorded for a trace (another transaction may hold it).
 */
import type { Interface, Log } from "ethers";
import { isProofgateError, ProofgateError } from "../core/errors.js";
import { readRevert } from "./revert.js";
import type { OnChain } from "./submission.js";

/**
 * Reverts in a row that the chain's state does not explain (a mined revert while the registry holds
 * nothing of the record, or AlreadyRecorded for a trace another transaction just took) before the
 * record fails. A front-runner never counts: what it records is found and taken.
 */
export const MAX_UNEXPLAINED_REVERTS = 3;

/**
 * A failed estimate (`simulated`: the current state) or mined transaction, as the project's error:
 * a revert becomes `conflict`, retryable unless its named reason stands; anything else stays as it is.
 */
export function sendFailure(err: unknown, errors: readonly Interface[], simulated: boolean): unknown {
  const revert = readRevert(err, errors);
  if (!revert) return err;
  const stands = simulated && revert.error !== null && revert.error !== "AlreadyRecorded";
  return new ProofgateError("conflict", `reverted on-chain: ${revert.reason}`, {
    cause: revert.cause,
    retryable: !stands,
  });
}

/** Whether `sendFailure` made this of a revert. */
export function isRevert(err: unknown): err is ProofgateError {
  return isProofgateError(err, "conflict") && readRevert(err.cause, []) !== null;
}

export type NextStep =
  /** The chain holds the record: the transaction of this log stands for it. */
  | { readonly action: "take"; readonly log: Log }
  | { readonly action: "fail"; readonly reason: string }
  /** At once, this the `reverts`-th revert in a row. */
  | { readonly action: "again"; readonly reverts: number }
  /** After a backoff, for this error. */
  | { readonly action: "backoff"; readonly err: Error };

/**
 * After `failure`: `lookup` is what the contracts said when asked then, or why asking failed;
 * `reverts` the unexplained reverts in a row before this one.
 */
export function afterFailure(
  failure: Error,
  lookup: { readonly onChain: OnChain } | { readonly error: Error },
  reverts: number,
): NextStep {
  // the chain cannot be asked now (a revert included: it is not taken at face value): ask again after a backoff
  if ("error" in lookup) return { action: "backoff", err: isRevert(failure) ? lookup.error : failure };
  const { onChain } = lookup;
  if (onChain.state === "recorded") return { action: "take", log: onChain.log };
  if (onChain.state === "conflict") return { action: "fail", reason: onChain.reason };
  if (!isRevert(failure)) return { action: "backoff", err: failure };
  const inARow = reverts + 1;
  if (!failure.retryable || inARow >= MAX_UNEXPLAINED_REVERTS) {
    const times = inARow > 1 ? ` (${inARow} reverts in a row)` : "";
    return { action: "fail", reason: `${failure.message}${times}; the registry holds nothing of this record` };
  }
  // a mined revert says no why, and AlreadyRecorded for a trace may be one of several: look again, at once
  return { action: "again", reverts: inARow };
}
