/**
 * Answers a generation request as JSON or as an SSE stream. The generation is aborted when the client
 * goes away, which frees its batch slot at the next step; an error after the stream started is sent as
 * a last `data: {"error": …}` event, since the status line is already gone.
 */
import type { Request, RequestHandler, Response } from "express";
import type { z } from "zod";
import { logIgnoredFields } from "./log-ignored-fields.js";
import { parseRequest } from "./request-validation.js";
import { errorEnvelope, toProofgateError } from "./error-envelope.js";
import type { KeyLimits } from "../config/api-keys-file.js";
import { apiKeyOf } from "./api-keys.js";
import type { ClientSequences } from "./client-sequences.js";
import type { ProofStepQuota } from "./proof-quota.js";
import { SseWriter } from "./sse-writer.js";

export interface SendGenerationOptions<Whole, Chunk> {
  readonly req: Request;
  readonly res: Response;
  readonly stream: boolean;
  complete(signal: AbortSignal): Promise<Whole>;
  streamChunks(send: (chunk: Chunk) => void, signal: AbortSignal): Promise<void>;
}

export async function sendGeneration<Whole, Chunk>(options: SendGenerationOptions<Whole, Chunk>): Promise<void> {
  const { req, res } = options;
  const controller = new AbortController();
  res.on("close", () => {
    if (!res.writableFinished) controller.abort(new Error("client disconnected"));
  });
  if (!options.stream) {
    try {
      res.json(await options.complete(controller.signal));
    } catch (err) {
      if (controller.signal.aborted) return;
      throw err;
    }
    return;
  }
  const sse = new SseWriter(res, () => {
    req.log?.warn("client stopped reading its stream: dropped, its batch slot freed");
    controller.abort(new Error("client stopped reading"));
  });
  try {
    await options.streamChunks((chunk) => sse.send(chunk), controller.signal);
    sse.done();
  } catch (err) {
    if (controller.signal.aborted) return;
    if (!sse.hasStarted) throw err;
    const error = toProofgateError(err);
    req.log?.error({ err }, "stream failed after it started");
    sse.send(errorEnvelope(error));
    sse.done();
  }
}

/** What chat and text completions share: refuse early in `prepare`, then answer whole or as chunks. */
/** What a generation handler needs of a prepared job. */
export interface PreparedGeneration {
  /** `proofSteps`: what the answer may cost in step proofs (0 when unproven). */
  readonly plan: { readonly stream: boolean; readonly proofSteps: number };
  /** Sequences generated at once: prompts × n. */
  readonly sequences: number;
  /** Sent as `X-Proof-Id` with the headers when the answer is proven. */
  readonly proofId: string | null;
}

export const PROOF_ID_HEADER = "x-proof-id";

export interface GenerationService<Body, Job extends PreparedGeneration, Whole, Chunk> {
  prepare(request: Body, limits: KeyLimits): Job;
  complete(job: Job, signal?: AbortSignal): Promise<Whole>;
  stream(job: Job, send: (chunk: Chunk) => void, signal?: AbortSignal): Promise<void>;
}

/** The per-client limits a generation is admitted under, beside the request rate limit of /v1. */
export interface GenerationAdmission {
  readonly sequences: ClientSequences;
  readonly proofSteps: ProofStepQuota;
}

/** POST handler of a generation endpoint: parse → service → JSON or SSE. */
export function generationHandler<S extends z.ZodObject, Job extends PreparedGeneration, Whole, Chunk>(
  schema: S,
  service: GenerationService<z.output<S>, Job, Whole, Chunk>,
  admission: GenerationAdmission,
): RequestHandler {
  return async (req, res) => {
    const parsed = parseRequest(schema, req.body);
    logIgnoredFields(req, parsed.ignoredFields);
    const job = service.prepare(parsed.value, apiKeyOf(req)?.limits ?? {});
    const release = admission.sequences.acquire(req, job.sequences);
    try {
      // charged last, so a request refused for its sequences costs nothing
      admission.proofSteps.charge(req, res, job.plan.proofSteps);
      if (job.proofId) res.setHeader(PROOF_ID_HEADER, job.proofId);
      await sendGeneration({
        req,
        res,
        stream: job.plan.stream,
        complete: (signal) => service.complete(job, signal),
        streamChunks: (send, signal) => service.stream(job, send, signal),
      });
    } finally {
      release();
    }
  };
}
