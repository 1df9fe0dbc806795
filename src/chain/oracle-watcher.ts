/**
 * The oracle's `InferenceRequested` events → proof records. Each request becomes one inference record
 * whose nonce is the one the oracle expects from this gateway's address (oracleNonce: chain, oracle,
 * request id, fulfiller), so the proof answers that request only and only when this gateway delivers
 * it; proven by the workers like any other and then fulfilled on-chain by the submitter. A request
 * whose fee does not cover what fulfilling it would cost (its callback gas included) is not worked
 * on: its record fails with the numbers, and the requester takes the fee back after the deadline.
 * Record ids derive from the chain, the oracle and the request id, so scanning the same blocks twice
 * (a restart scans from the deployment block) makes nothing twice: the store, not a cursor, is the memory.
 */
import { basename } from "node:path";
import type { Logger } from "pino";
import type { CircuitManifest } from "../model/circuit-manifest.js";
import { isProofgateError, isRetryable, ProofgateError } from "../core/errors.js";
import { newProofRecord } from "../core/proof-record.js";
import { oracleNonce } from "../core/request-binding.js";
import { argmaxFirst, traceIntegerModel } from "../model/integer-model.js";
import type { CompiledCatalog } from "../prover/compiled-catalog.js";
import type { InferenceProofRequest, OracleRequestRef } from "../prover/proof-request.js";
import type { ProofScheduler } from "../prover/proof-scheduler.js";
import type { ProofStore } from "../store/proof-store.js";
import { nonceBits } from "../witness/circuit-input.js";
import { unpackInput } from "../witness/packing.js";
import { InferenceOracle__factory, type InferenceOracle } from "./bindings/index.js";
import type { InferenceRequestedEvent } from "./bindings/InferenceOracle.js";
import type { ChainConnection } from "./chain-connection.js";
import type { Deployment } from "./deployment.js";
import { PollingLoop } from "./polling-loop.js";

export interface OracleWatcherOptions {
  readonly chain: ChainConnection;
  readonly deployment: Deployment;
  readonly catalog: CompiledCatalog;
  readonly scheduler: ProofScheduler;
  readonly store: ProofStore;
  readonly logger: Logger;
  /** A request is fulfilled only if its fee covers the estimated gas cost × this (≥ 1). */
  readonly feeMargin: number;
  /** @defaultValue 250 */
  readonly pollMs?: number;
}

/**
 * Gas of `fulfill` besides the callback (the nonce, the commitment, verify and record, the fee's
 * transfer, the event, the calldata), with room over what the shipped circuits measure
 * (test/chain/oracle.test.ts checks these cover it): a decoding step 294,702, pg-spam 357,653 (one
 * signal, Poseidon of 7 inputs). Each further public signal costs a scalar multiplication and its
 * calldata, each further input word a wider Poseidon.
 */
export function fulfillGasEstimate(manifest: CircuitManifest): bigint {
  const p = manifest.packing;
  if (p.kind === "token-step") return 330_000n;
  return 400_000n + 10_000n * BigInt(manifest.public_signals.length - 1) + 25_000n * BigInt(Math.max(0, p.words - 5));
}

export interface OracleQuote {
  readonly fulfillGas: bigint;
  readonly callbackGas: bigint;
  readonly gasPrice: bigint;
  readonly margin: number;
  /** (fulfillGas + callbackGas) × gasPrice × margin, in wei. */
  readonly cost: bigint;
}

/** What answering a request would cost this gateway at `gasPrice`. */
export function quoteFulfillment(
  manifest: CircuitManifest,
  callbackGas: bigint,
  gasPrice: bigint,
  margin: number,
): OracleQuote {
  const fulfillGas = fulfillGasEstimate(manifest);
  const cost = ((fulfillGas + callbackGas) * gasPrice * BigInt(Math.round(margin * 10_000))) / 10_000n;
  return { fulfillGas, callbackGas, gasPrice, margin, cost };
}

/** Blocks asked for per log query: public RPCs cap ranges. */
const BLOCK_RANGE = 2_000;

export function oracleProofId(chainId: number, oracle: string, requestId: bigint | string): string {
  return `proof-oracle-${chainId}-${oracle.slice(2, 10).toLowerCase()}-${requestId}`;
}

/**
 * The integer sample an oracle request's input words stand for: the token window itself for a
 * decoding step, else the packed input unpacked (witness/packing.ts). Throws an `invalid_argument`
 * ProofgateError, not retryable, naming what is wrong with words no proof could be made for.
 */
export function oracleSample(manifest: CircuitManifest, words: readonly bigint[]): number[] {
  const p = manifest.packing;
  if (p.kind === "token-step") {
    if (words.length !== p.context)
      throw unanswerable(`a decoding step takes ${p.context} token ids, got ${words.length}`);
    return words.map((w) => {
      if (w >= BigInt(manifest.input.kind === "tokens" ? manifest.input.vocabSize : 0))
        throw unanswerable(`token id ${w} is not in the vocabulary`);
      return Number(w);
    });
  }
  try {
    return unpackInput(manifest, words);
  } catch (err) {
    if (err instanceof RangeError) throw unanswerable(err.message);
    throw err;
  }
}

/** Why no proof can answer a request: a retry cannot change it. */
function unanswerable(message: string): ProofgateError {
  return new ProofgateError("invalid_argument", message, { retryable: false });
}

export class OracleWatcher {
  private readonly oracle: InferenceOracle;
  private readonly byKey = new Map<string, string>();
  private nextBlock: number;
  private readonly loop: PollingLoop;

  constructor(private readonly options: OracleWatcherOptions) {
    const { deployment, chain } = options;
    this.oracle = InferenceOracle__factory.connect(deployment.oracle, chain.provider);
    for (const [modelId, m] of Object.entries(deployment.models)) this.byKey.set(m.key.toLowerCase(), modelId);
    this.nextBlock = deployment.from_block;
    this.loop = new PollingLoop(
      () => this.poll(),
      options.pollMs ?? 250,
      (err) => options.logger.warn({ err: (err as Error).message }, "oracle watch failed; retrying"),
    );
  }

  start(): void {
    this.loop.start();
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }

  /** Reads new blocks' requests; the cursor moves only past blocks whose requests are all recorded. */
  async poll(): Promise<void> {
    const latest = await this.options.chain.provider.getBlockNumber();
    while (this.nextBlock <= latest && !this.loop.isStopped) {
      const to = Math.min(latest, this.nextBlock + BLOCK_RANGE - 1);
      const events = await this.oracle.queryFilter(this.oracle.filters.InferenceRequested(), this.nextBlock, to);
      for (const event of events) await this.record(event);
      this.nextBlock = to + 1;
    }
  }

  private async record(event: InferenceRequestedEvent.Log): Promise<void> {
    const { store, catalog, scheduler, logger, deployment } = this.options;
    const { requestId, model: modelKey, requester, callback, gasLimit, fee, deadline, input } = event.args;
    const { chain, feeMargin } = this.options;
    const id = oracleProofId(deployment.chain_id, deployment.oracle, requestId);
    if (await store.get(id)) return;
    const oracle: OracleRequestRef = {
      chain_id: deployment.chain_id,
      contract: deployment.oracle,
      request_id: requestId.toString(),
      requester,
      callback,
      gas_limit: Number(gasLimit),
      fee_wei: fee.toString(),
      deadline: Number(deadline),
      input: input.map(String),
      tx_hash: event.transactionHash,
      block_number: event.blockNumber,
    };
    const modelId = this.byKey.get(modelKey.toLowerCase());
    const manifest = modelId ? catalog.manifest(modelId) : null;
    const compiled = modelId ? await catalog.get(modelId) : null;
    try {
      if (!modelId || !manifest || !compiled) throw unanswerable(`this gateway does not prove model ${modelKey}`);
      const feeData = await chain.provider.getFeeData();
      const quote = quoteFulfillment(manifest, gasLimit, feeData.gasPrice ?? feeData.maxFeePerGas ?? 0n, feeMargin);
      if (fee < quote.cost) {
        const why =
          `oracle request ${requestId} is underpriced: its fee of ${fee} wei does not cover the estimated cost of ${quote.cost} wei ` +
          `= (${quote.fulfillGas} gas to fulfil + ${quote.callbackGas} gas of callback) × ${quote.gasPrice} wei/gas × margin ${quote.margin}; ` +
          `not fulfilled (the requester can refund it after ${new Date(Number(deadline) * 1000).toISOString()})`;
        await this.fail(id, modelId, this.failedRequest(oracle, modelId, requestId), why);
        logger.warn(
          { proofId: id, requestId: oracle.request_id, fee: fee.toString(), cost: quote.cost.toString() },
          "oracle request underpriced; not fulfilled",
        );
        return;
      }
      const nonce = oracleNonce(
        { chainId: deployment.chain_id, oracle: deployment.oracle, requestId, fulfiller: chain.address },
        nonceBits(manifest),
      );
      const sample = oracleSample(manifest, input);
      const logits = traceIntegerModel(compiled.model, sample).at(-1)!;
      const argmax = argmaxFirst(logits);
      await scheduler.scheduleInference({
        id,
        model: basename(catalog.dir(modelId)!),
        circuit: { modelId, vkeyHash: manifest.vkey_hash },
        endpoint: "oracle",
        input: { words: oracle.input },
        sample,
        served: { argmax, logits: Array.from(logits) },
        output: manifest.output === "argmax" ? argmax : Array.from(logits),
        nonce,
        oracle,
      });
      logger.info({ proofId: id, requestId: oracle.request_id, model: modelId }, "oracle request recorded");
    } catch (err) {
      if (isProofgateError(err, "conflict")) return; // another watcher recorded it
      if (isRetryable(err)) throw err;
      // no proof can answer it: record why; the requester takes the fee back after the deadline
      const circuit = modelId ?? modelKey;
      await this.fail(
        id,
        circuit,
        this.failedRequest(oracle, circuit, requestId),
        `oracle request ${requestId} cannot be proven: ${(err as Error).message}`,
      );
    }
  }

  /** The request of a record that will not be proven: nothing to submit, the nonce left as the request id. */
  private failedRequest(oracle: OracleRequestRef, circuit: string, requestId: bigint): InferenceProofRequest {
    const served = { argmax: -1, logits: [] };
    return {
      kind: "inference",
      endpoint: "oracle",
      circuit,
      nonce: requestId.toString(),
      submit: false,
      input: { words: oracle.input },
      sample: [],
      served,
      oracle,
    };
  }

  /** A record, failed with `reason`, for a request this gateway does not answer (once: another watcher may have made it). */
  private async fail(id: string, model: string, request: InferenceProofRequest, reason: string): Promise<void> {
    const { store, catalog } = this.options;
    const created = await store
      .create(newProofRecord({ id, model: catalog.dir(model) ? basename(catalog.dir(model)!) : model, request }))
      .catch(() => null);
    if (created) await store.transition(id, "queued", "failed", { error: reason });
  }
}
