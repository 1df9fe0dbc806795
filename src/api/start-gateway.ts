/**
 * Starts the gateway: listens at once (so /health can answer 503 while models load), then loads every
 * model. `close` stops accepting requests, ends open connections (their generations abort and leave
 * their batches), and releases the models; calling it twice is safe.
 */
import { once } from "node:events";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import type { Logger } from "pino";
import type { Config } from "../config/config.js";
import { PACKAGE_VERSION } from "../config/project.js";
import type { ChainInfo } from "./chain/protocol.js";
import type { ProofServices } from "./gateway-services.js";
import { ModelRegistry } from "../model/model-registry.js";
import { ProofgateError } from "../core/errors.js";
import { buildApp } from "./app.js";
import { errorEnvelope } from "./error-envelope.js";
import { GatewayMetrics } from "./metrics/gateway-metrics.js";

export interface StartGatewayOptions {
  readonly config: Config;
  readonly logger: Logger;
  /** Proof store, queue, workers; absent = nothing is proven. The gateway does not close them. */
  readonly proofs?: ProofServices | null;
  /** GET /v1/chain's answer; absent = nothing goes on-chain. */
  readonly chain?: ChainInfo | null;
}

export interface Gateway {
  /** http://host:port of the listening server. */
  readonly url: string;
  readonly server: Server;
  readonly registry: ModelRegistry;
  readonly metrics: GatewayMetrics;
  /** Settles when every model is loaded (rejects when one fails to load). */
  readonly loaded: Promise<void>;
  close(): Promise<void>;
}

/**
 * Requests Node rejects before Express sees them (headers over --max-http-header-size, a malformed
 * request line) get the API's error envelope instead of Node's empty answer.
 */
function answerClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
  if (!socket.writable || !err.code?.startsWith("HPE_")) return void socket.destroy();
  const error =
    err.code === "HPE_HEADER_OVERFLOW"
      ? new ProofgateError("headers_too_large", "The request headers are too large")
      : new ProofgateError("invalid_argument", "The request is not valid HTTP");
  const body = JSON.stringify(errorEnvelope(error));
  const reason = error.status === 431 ? "Request Header Fields Too Large" : "Bad Request";
  socket.end(
    `HTTP/1.1 ${error.status} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

export async function startGateway({
  config,
  logger,
  proofs = null,
  chain = null,
}: StartGatewayOptions): Promise<Gateway> {
  const metrics = new GatewayMetrics();
  const registry = new ModelRegistry({
    roots: config.modelRoots,
    dirs: config.modelDirs,
    device: config.device,
    maxBatchSize: config.maxBatchSize,
    maxWaiting: config.maxWaiting,
    observer: metrics,
    warn: (message) => logger.warn(message),
  });
  const app = buildApp({ config, registry, metrics, logger, version: PACKAGE_VERSION, proofs, chain });
  const server = createServer(app);
  server.on("clientError", answerClientError);
  server.listen(config.port, config.host);
  await once(server, "listening").catch((err: NodeJS.ErrnoException) => {
    if (err.code !== "EADDRINUSE") throw err;
    throw new Error(
      `${config.host}:${config.port} is already in use: stop what listens there, or set PORT (0 = any free port)`,
      { cause: err },
    );
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${config.host.includes(":") ? `[${config.host}]` : config.host}:${port}`;
  logger.info({ url }, "gateway listening; loading models");

  const started = performance.now();
  const loaded = registry.load().then(() => {
    const models = registry.list().map((m) => ({ id: m.id, task: m.task, provable: m.provable }));
    logger.info(
      { device: registry.device, models, seconds: Math.round(performance.now() - started) / 1000 },
      "models loaded",
    );
  });

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      server.closeAllConnections();
      await stopped;
      await loaded.catch(() => undefined);
      await registry.close();
    })());
  return { url, server, registry, metrics, loaded, close };
}
