/** `proofgate serve`: the OpenAI-compatible gateway and its in-process provers until SIGTERM or SIGINT (see SPEC.md, src/api). */
import { type Gateway, startGateway } from "../api/start-gateway.js";
import { toChainInfo } from "../api/chain/protocol.js";
import type { ChainServices } from "../api/gateway-services.js";
import { openChainServices, openProofServices } from "../compose.js";
import { loadConfig } from "../config/config.js";
import { stopSignal } from "./stop-signal.js";
import { cliLogger } from "./log-output.js";
import type { Verb } from "./verb.js";

export const serve: Verb = {
  path: ["serve"],
  usage: "serve",
  description:
    "Serves every model under artifacts/models/ and in $PROOFGATE_MODELS (comma-separated folders) on $HOST:$PORT (default 127.0.0.1:8080), and proves what provable models answer. Proofs: SQLite under $PROOFGATE_DATA_DIR (default ./data) or PostgreSQL at $DATABASE_URL; BullMQ on $REDIS_URL (default redis://127.0.0.1:6379) or an in-process queue when no Redis answers; $PROVERS in-process workers (default 1; 0 = none) proving $PROVER_CONCURRENCY jobs each. Other settings: PROOFGATE_DEVICE=auto|cpu|cuda, PROOFGATE_API_KEYS, PROOFGATE_API_KEYS_FILE (keys with limits of their own), PROOFGATE_PROOF_ORDER=fair|fifo, PROOFGATE_MAX_BATCH, PROOFGATE_MAX_WAITING, PROOFGATE_RATE_LIMIT_RPM, PROOFGATE_LOG_LEVEL (see src/config/config.ts and the README). On-chain: PROOFGATE_SUBMIT=all|none|requested (default all), an anvil chain spawned on loopback unless $RPC_URL (then $PRIVATE_KEY or $PROOFGATE_KEYSTORE + $PROOFGATE_KEYSTORE_PASSWORD), PROOFGATE_ANVIL_STATE (the embedded chain's state file, default <data dir>/chain/anvil-state.json; none = a fresh chain each start; verified records are re-checked against the chain at start), PROOFGATE_ORACLE_FEE_WEI, PROOFGATE_ORACLE_TIMEOUT_S.",
  options: {},
  async run() {
    const config = loadConfig();
    const logger = cliLogger(config);
    const stopRequested = stopSignal();
    const proofs = await openProofServices({ config, logger, submitPolicy: config.submitPolicy });
    logger.info(
      {
        store: config.databaseUrl ? "postgresql" : "sqlite",
        queue: proofs.queue.constructor.name,
        provers: proofs.workers.length,
      },
      "proof services ready",
    );
    let chain: ChainServices | null;
    try {
      chain = await openChainServices({ config, logger, proofs });
    } catch (err) {
      await proofs.close();
      throw err;
    }
    const policy = config.submitPolicy;
    let gateway: Gateway;
    try {
      gateway = await startGateway({
        config,
        logger,
        proofs,
        chain: chain && policy !== "none" ? toChainInfo(chain, policy) : null,
      });
    } catch (err) {
      // close what is open, so the CLI's one-line reason is the last thing printed and the process exits
      await chain?.close();
      await proofs.close();
      throw err;
    }
    let loadError: unknown = null;
    // serve until a signal, or stop early when a model fails to load
    await Promise.race([
      stopRequested,
      gateway.loaded.then(
        () => stopRequested,
        (err: unknown) => {
          loadError = err;
        },
      ),
    ]);
    logger.info("shutting down: finishing the proofs in flight");
    await gateway.close();
    await chain?.close();
    await proofs.close();
    if (loadError) throw loadError;
    return 0;
  },
};
