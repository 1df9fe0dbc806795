/** `proofgate serve`: the OpenAI-compatible gateway until SIGTERM or SIGINT (see SPEC.md, src/api). */
import { once } from "node:events";
import { pino } from "pino";
import { startGateway } from "../api/start-gateway.js";
import { loadConfig } from "../config/config.js";
import type { Verb } from "./verb.js";

export const serve: Verb = {
  path: ["serve"],
  usage: "serve",
  description:
    "Serves every model under artifacts/models/ and in $PROOFGATE_MODELS (comma-separated folders) on $HOST:$PORT (default 127.0.0.1:8080). Other settings: PROOFGATE_DEVICE=auto|cpu|cuda, PROOFGATE_API_KEYS, PROOFGATE_MAX_BATCH, PROOFGATE_MAX_WAITING, PROOFGATE_RATE_LIMIT_RPM, PROOFGATE_LOG_LEVEL (see src/config/config.ts).",
  options: {},
  async run() {
    const config = loadConfig();
    const logger = pino({ level: config.logLevel });
    const gateway = await startGateway({ config, logger });
    const stopRequested = Promise.race([once(process, "SIGTERM"), once(process, "SIGINT")]);
    let loadError: unknown = null;
    // serve until a signal, or stop early when a model fails to load
    await Promise.race([stopRequested, gateway.loaded.then(() => stopRequested, (err: unknown) => void (loadError = err))]);
    logger.info("shutting down");
    await gateway.close();
    if (loadError) throw loadError;
    return 0;
  },
};
