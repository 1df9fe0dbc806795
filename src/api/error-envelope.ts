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
  return typeof err === "object" && err !== null && typeof (err as BodyParserError).type === "string" && typeof (err as BodyParserError).status === "number";
}

/** Our error for anything thrown while serving a request; unknown failures become `internal`. */
export function toProofgateError(err: unknown): ProofgateError {
  if (err instanceof ProofgateError) return err;
  if (isBodyParserError(err)) {
    if (err.type === "entity.too.large") return new ProofgateError("payload_too_large", "Request body is too large", { cause: err });
    if (err.type === "entity.parse.failed") return new ProofgateError("invalid_json", `Request body is not valid JSON: ${err.message}`, { cause: err });
    if (err.status >= 400 && err.status < 500) return new ProofgateError("invalid_argument", err.message, { cause: err });
  }
  return new ProofgateError("internal", "The server failed to handle the request", { cause: err });
}

export function errorEnvelope(err: ProofgateError): ErrorEnvelope {
  return { error: { message: err.message, type: err.type, param: err.param, code: err.code } };
}
