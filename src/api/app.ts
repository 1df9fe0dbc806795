/**
 * Builds the Express app of the gateway: request ids and logs, metrics, auth and rate limits on /v1,
 * the endpoint routers (each built once around its service), and the one error envelope.
 */
import { randomUUID } from "node:crypto";
import express, { type ErrorRequestHandler, type Express, type RequestHandler } from "express";
import type { Logger } from "pino";
import { pinoHttp } from "pino-http";
import type { Config } from "../config/config.js";
import { ProofgateError } from "../core/errors.js";
import type { ModelRegistry } from "../model/model-registry.js";
import type { ProofServices } from "./gateway-services.js";
import { apiKeyOf, apiKeysOf, requireApiKey } from "./api-keys.js";
import { ChatService } from "./chat/service.js";
import { ClientSequences } from "./client-sequences.js";
import { attachChatRouter, chatRoutes } from "./chat/router.js";
import { CompletionsService } from "./completions/service.js";
import { attachCompletionsRouter, completionsRoutes } from "./completions/router.js";
import { errorEnvelope, toProofgateError } from "./error-envelope.js";
import { HealthService } from "./health/service.js";
import { attachHealthRouter, healthRoutes } from "./health/router.js";
import { InferencesService } from "./inferences/service.js";
import { attachInferencesRouter, inferencesRoutes } from "./inferences/router.js";
import type { GatewayMetrics } from "./metrics/gateway-metrics.js";
import { attachMetricsRouter, metricsRoutes, recordRequests } from "./metrics/router.js";
import { ModelsService } from "./models/service.js";
import { attachModelsRouter, modelsRoutes } from "./models/router.js";
import { attachOpenApiRouter, openApiRoutes } from "./openapi/router.js";
import { buildOpenApiDocument } from "./openapi/service.js";
import { ProofStepQuota } from "./proof-quota.js";
import { RequestRateLimiter } from "./rate-limit.js";
import { mount } from "./route-doc.js";
import { BacklogFullError, type ProofBacklog } from "../prover/proof-backlog.js";
import { PROOF_ID_HEADER } from "./generation-response.js";
import { ProofsService } from "./proofs/service.js";
import type { ChainInfo } from "./chain/protocol.js";
import { attachChainRouter, chainRoutes } from "./chain/router.js";
import { attachExplorerRouter, explorerRoutes } from "./explorer/router.js";
import { attachProofsRouter, proofsRoutes } from "./proofs/router.js";
import { attachStatsRouter, statsRoutes } from "./stats/router.js";
import { StatsService } from "./stats/service.js";

export interface BuildAppOptions {
  readonly config: Config;
  readonly registry: ModelRegistry;
  readonly metrics: GatewayMetrics;
  readonly logger: Logger;
  readonly version: string;
  /** The proof store, queue and catalog; absent = answers are not proven and /v1/proofs is not served. */
  readonly proofs?: ProofServices | null;
  /** Where proofs go on-chain; absent = nowhere (GET /v1/chain answers 404). */
  readonly chain?: ChainInfo | null;
}

export const REQUEST_ID_HEADER = "x-request-id";
/** A client's own request id is kept when it looks like one. */
const CLIENT_REQUEST_ID = /^[\w.:-]{1,128}$/;
/** Seconds a client is told to wait when every batch slot and queue place is taken. */
const OVERLOAD_RETRY_AFTER_SECONDS = 1;
/**
 * No id, filter or model name contains a NUL byte, and PostgreSQL's text refuses one: such a request
 * is a 400 here rather than a failed query.
 */
const refuseNulInUrl: RequestHandler = (req, _res, next) => {
  if (/%00/.test(req.originalUrl) || req.originalUrl.includes("\0"))
    throw new ProofgateError("invalid_argument", "The request path or query contains a NUL byte");
  next();
};

/** The routes whose answers are proven (unless the request sends `"proof": false`). */
const PROVABLE_ROUTES = [...chatRoutes, ...completionsRoutes, ...inferencesRoutes];

/**
 * Backpressure: a provable request (a provable model, no `"proof": false`) while the proof backlog is
 * past its limits is refused with 429 before anything is generated; nothing already accepted is touched.
 * It also refreshes the backlog's estimate, which the record made for the answer then carries.
 */
function admitProofs(registry: ModelRegistry, backlog: ProofBacklog, refused: () => void): RequestHandler {
  return async (req, _res, next) => {
    const body = req.body as { model?: unknown; proof?: unknown } | undefined;
    if (typeof body !== "object" || body === null || body.proof === false || typeof body.model !== "string")
      return next();
    const model = registry.list().find((m) => m.id === body.model);
    if (!model?.provable || !model.circuit) return next();
    try {
      await backlog.admit();
    } catch (err) {
      if (err instanceof BacklogFullError) refused();
      throw err;
    }
    next();
  };
}

/** Request headers that carry credentials: logged as present, never by value. */
const SECRET_HEADERS = ["authorization", "proxy-authorization", "x-api-key", "api-key", "cookie"];

/** pino-http's serialized request with its credentials replaced. */
export function redactRequestHeaders<T extends { headers?: Record<string, unknown> }>(req: T): T {
  if (!req.headers) return req;
  const headers = { ...req.headers };
  for (const name of SECRET_HEADERS) if (headers[name] !== undefined) headers[name] = "[redacted]";
  return { ...req, headers };
}

export function buildApp({
  config,
  registry,
  metrics,
  logger,
  version,
  proofs = null,
  chain = null,
}: BuildAppOptions): Express {
  const app = express();
  app.disable("x-powered-by");
  app.set("trust proxy", false);

  app.use(
    pinoHttp({
      logger,
      genReqId: (req, res) => {
        const given = req.headers[REQUEST_ID_HEADER];
        const id = typeof given === "string" && CLIENT_REQUEST_ID.test(given) ? given : randomUUID();
        res.setHeader(REQUEST_ID_HEADER, id);
        return id;
      },
      customLogLevel: (_req, res, err) =>
        err || res.statusCode >= 500 ? "error" : res.statusCode >= 400 ? "warn" : "info",
      serializers: { req: redactRequestHeaders },
      // a request's key by its name, never the key
      customProps: (req) => {
        const key = apiKeyOf(req as express.Request);
        return key ? { api_key: key.name } : {};
      },
    }),
  );
  app.use(recordRequests(metrics));
  app.use(express.json({ limit: config.bodyLimitBytes }));

  const open = express.Router();
  attachHealthRouter(open, new HealthService(registry));
  attachMetricsRouter(open, metrics);
  // the page loads without an API key; the JSON it reads is under /v1, with the key the user gives it
  attachExplorerRouter(open);
  const routes = [
    ...healthRoutes,
    ...metricsRoutes,
    ...openApiRoutes,
    ...modelsRoutes,
    ...chatRoutes,
    ...completionsRoutes,
    ...inferencesRoutes,
    ...proofsRoutes,
    ...statsRoutes,
    ...chainRoutes,
    ...explorerRoutes,
  ];
  attachOpenApiRouter(open, buildOpenApiDocument({ routes, version }));
  app.use(open);

  const v1 = express.Router();
  v1.use(refuseNulInUrl);
  const keys = apiKeysOf(config);
  if (keys.length > 0) v1.use(requireApiKey(keys));
  if (config.rateLimitPerMinute > 0 || keys.some((k) => k.limits.requestsPerMinute !== undefined)) {
    v1.use(
      new RequestRateLimiter(config.rateLimitPerMinute, { onRefused: () => metrics.rateLimited("requests") })
        .middleware,
    );
  }
  v1.use((_req, _res, next) => {
    if (!registry.ready)
      throw new ProofgateError("not_ready", "Models are loading; try again shortly", { retryable: true });
    next();
  });
  attachModelsRouter(v1, new ModelsService(registry));
  const scheduler = proofs?.scheduler ?? null;
  if (proofs) {
    metrics.include(proofs.metrics.registry);
    proofs.metrics.observeQueue();
    const admit = admitProofs(registry, proofs.backlog, () => metrics.rateLimited("proof_backlog"));
    for (const route of PROVABLE_ROUTES) mount(v1, route, admit);
  }
  const admission = {
    sequences: new ClientSequences(config.maxSequencesPerClient, () => metrics.rateLimited("sequences")),
    proofSteps: new ProofStepQuota({ onRefused: () => metrics.rateLimited("proof_quota") }),
  };
  attachChatRouter(v1, new ChatService({ registry, config, observer: metrics, proofs: scheduler }), admission);
  attachCompletionsRouter(
    v1,
    new CompletionsService({ registry, config, observer: metrics, proofs: scheduler }),
    admission,
  );
  attachInferencesRouter(
    v1,
    new InferencesService({ registry, proofs: scheduler, maxPromptChars: config.maxPromptChars }),
  );
  if (proofs) {
    attachProofsRouter(v1, new ProofsService({ store: proofs.store, catalog: proofs.catalog }));
    attachStatsRouter(v1, new StatsService({ store: proofs.store, models: registry }));
  }
  attachChainRouter(v1, chain);
  app.use(v1);

  app.use((req) => {
    throw new ProofgateError("not_found", `No route ${req.method} ${req.path}`);
  });
  const sendError: ErrorRequestHandler = (err, req, res, _next) => {
    const error = toProofgateError(err);
    if (error.code === "internal") req.log.error({ err }, "request failed");
    else req.log.info({ code: error.code, param: error.param }, error.message);
    if (res.headersSent) return void res.end();
    // a refused or failed answer has no proof record
    res.removeHeader(PROOF_ID_HEADER);
    if (error instanceof BacklogFullError) res.setHeader("retry-after", String(error.retryAfterS));
    else if (error.code === "overloaded" || error.code === "not_ready")
      res.setHeader("retry-after", String(OVERLOAD_RETRY_AFTER_SECONDS));
    res.status(error.status).json(errorEnvelope(error));
  };
  app.use(sendError);
  return app;
}
