/**
 * A contract's revert, as ethers reports it (`isError(e, "CALL_EXCEPTION")`). A provider call
 * (estimateGas) leaves a custom error undecoded (`revert` null, the raw `data` kept): the ABIs of the
 * contracts involved decode it (`Interface.makeError`). A mined revert carries neither data nor reason.
 */
import { isError, type CallExceptionError, type Interface } from "ethers";

export interface Revert {
  /** The custom error's name, when an ABI given knows it. */
  readonly error: string | null;
  /** `Name(arg, …)`, or ethers' short message when the revert says no why. */
  readonly reason: string;
  readonly cause: CallExceptionError;
}

/** Null when `err` is not a revert. */
export function readRevert(err: unknown, errors: readonly Interface[]): Revert | null {
  if (!isError(err, "CALL_EXCEPTION")) return null;
  let call: CallExceptionError = err;
  if (!call.revert && call.data && call.data !== "0x") {
    for (const abi of errors) {
      const decoded = abi.makeError(call.data, call.transaction);
      if (decoded.revert) {
        call = decoded;
        break;
      }
    }
  }
  const { revert } = call;
  return {
    error: revert?.name ?? null,
    reason: revert ? `${revert.name}(${revert.args.map(String).join(", ")})` : call.shortMessage,
    cause: call,
  };
}
