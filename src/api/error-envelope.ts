/**
 * The one error shape of the HTTP API, `{"error": {"message", "type", "param", "code"}}`, and the
 * conversion of anything thrown (our errors, body-parser's, zod's) into it.
 */
import { z } from "zod";
import { ProofgateError } from "../core/errors.js";

export const ErrorEnvelope = z
  .object({
    error: z.object({
      message: z.string(),
      type: z.string(),
      param: z.string().nullable(),
      code: z.string().nullable(),
    }),
  })
  .meta({ id: "ErrorEnvelope" });
export type ErrorEnvelope = z.infer<typeof ErrorEnvelope>;

/** Errors thrown by Express's body parser carry an HTTP status and a `type`. */
interface BodyParserError {
  readonly status: number;
  readonly type: string;
  readonly message: string;
}

function isBodyParserError(err: unknown): err is BodyParserError {
  return (
    typeof err === "object" &&
    err !== null &&
    typeof (err as BodyParserError).type === "string" &&
    typeof (err as BodyParserError).status === "number"
  );
}

/** A client error raised below our code (http-errors style: the router's path decoding, body reading). */
function clientStatus(err: unknown): number | null {
  if (typeof err !== "object" || err === null) return null;
  const status =
    (err as { status?: unknown; statusCode?: unknown }).status ?? (err as { statusCode?: unknown }).statusCode;
  return typeof status === "number" && status >= 400 && status < 500 ? status : null;
}

/** zlib's errors (a `Content-Encoding` the body does not have) carry a `Z_…` code. */
function isZlibError(err: unknown): boolean {
  const code = typeof err === "object" && err !== null ? (err as { code?: unknown }).code : undefined;
  return typeof code === "string" && code.startsWith("Z_");
}

/** Our error for anything thrown while serving a request; unknown failures become `internal`. */
export function toProofgateError(err: unknown): ProofgateError {
  if (err instanceof ProofgateError) return err;
  if (isBodyParserError(err)) {
    if (err.type === "entity.too.large")
      return new ProofgateError("payload_too_large", "Request body is too large", { cause: err });
    if (err.type === "entity.parse.failed")
      return new ProofgateError("invalid_json", `Request body is not valid JSON: ${err.message}`, { cause: err });
    if (err.status >= 400 && err.status < 500)
      return new ProofgateError("invalid_argument", err.message, { cause: err });
  }
  if (err instanceof URIError)
    return new ProofgateError("invalid_argument", "The request path has a malformed %-escape", { cause: err });
  if (isZlibError(err))
    return new ProofgateError("invalid_argument", "The request body does not match its Content-Encoding", {
      cause: err,
    });
  if (clientStatus(err) !== null)
    return new ProofgateError("invalid_argument", err instanceof Error ? err.message : "Bad request", { cause: err });
  return new ProofgateError("internal", "The server failed to handle the request", { cause: err });
}

/** Errors quote what the client sent; a long input is cut so an answer never echoes it whole. */
export const MAX_ERROR_MESSAGE_CHARS = 512;

function bounded(message: string): string {
  return message.length <= MAX_ERROR_MESSAGE_CHARS ? message : `${message.slice(0, MAX_ERROR_MESSAGE_CHARS - 1)}…`;
}

export function errorEnvelope(err: ProofgateError): ErrorEnvelope {
  return {
    error: { message: bounded(err.message), type: err.type, param: err.param && bounded(err.param), code: err.code },
  };
}
