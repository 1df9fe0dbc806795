/** `proofgate worker`: a prover worker only, for other machines sharing the gateway's Redis and database. */
import { openProofServices } from "../compose.js";
import { type Config, environmentWith, loadConfig } from "../config/config.js";
import { cliLogger } from "./log-output.js";
import { stopSignal } from "./stop-signal.js";
import { UsageError, type Verb } from "./verb.js";

export const worker: Verb = {
  path: ["worker"],
  usage: "worker [--concurrency N] [--name NAME]",
  description:
    "Proves queued proof jobs until SIGTERM or SIGINT, then finishes the proofs in flight. Needs the shared queue ($REDIS_URL, default redis://127.0.0.1:6379) and store ($DATABASE_URL for PostgreSQL; without it, the SQLite file under $PROOFGATE_DATA_DIR, which only processes on the same machine share), and the compiled models of the records it proves (artifacts/models/ and $PROOFGATE_MODELS).",
  options: {
    concurrency: { type: "string", description: "jobs proved at once (default $PROVER_CONCURRENCY, 2)" },
    name: { type: "string", description: "identity recorded as each proof's prover (default host:pid)" },
  },
  async run({ values }) {
    const overrides: Record<string, string> =
      values.concurrency === undefined ? {} : { PROVER_CONCURRENCY: String(values.concurrency) };
    let config: Config;
    try {
      config = loadConfig(environmentWith(overrides));
    } catch (err) {
      throw new UsageError((err as Error).message.replace("PROVER_CONCURRENCY", "--concurrency"));
    }
    const logger = cliLogger(config);
    const stopRequested = stopSignal();
    const proofs = await openProofServices({
      config,
      logger,
      provers: 1,
      requireRedis: true,
      proverName: typeof values.name === "string" ? values.name : undefined,
    });
    logger.info(
      {
        prover: proofs.processor.prover,
        concurrency: config.proverConcurrency,
        store: config.databaseUrl ? "postgresql" : "sqlite",
        circuits: proofs.catalog.modelIds.length,
      },
      "prover worker ready",
    );
    const signal = await stopRequested;
    logger.info({ signal }, "stopping: finishing the proofs in flight");
    await proofs.close();
    return 0;
  },
};
