/**
 * One error type for the whole project: a closed set of codes, each with its HTTP status and OpenAI
 * error type, so the API, the CLI and the job runner all decide by code, never by message text; and
 * one answer to "can a retry fix it?" (`retryable`, read by `isRetryable`), which the job queue, the
 * chain submitter and the oracle watcher all go by.
 */
export const ERROR_CODES = {
  invalid_argument: { status: 400, type: "invalid_request_error" },
  invalid_json: { status: 400, type: "invalid_request_error" },
  unauthorized: { status: 401, type: "authentication_error" },
  not_found: { status: 404, type: "invalid_request_error" },
  model_not_found: { status: 404, type: "invalid_request_error" },
  /** The request clashes with the resource's current state (an illegal status move, a duplicate id). */
  conflict: { status: 409, type: "invalid_request_error" },
  /** The model exists but cannot serve this endpoint (e.g. chat with a classifier). */
  unsupported_model: { status: 400, type: "invalid_request_error" },
  payload_too_large: { status: 413, type: "invalid_request_error" },
  headers_too_large: { status: 431, type: "invalid_request_error" },
  rate_limited: { status: 429, type: "rate_limit_error" },
  /** An API key spent its quota (proof_steps_per_hour), as OpenAI answers a spent quota. */
  insufficient_quota: { status: 429, type: "insufficient_quota" },
  /** Too many generations already waiting for a batch slot. */
  overloaded: { status: 429, type: "rate_limit_error" },
  not_ready: { status: 503, type: "server_error" },
  internal: { status: 500, type: "server_error" },
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface ProofgateErrorOptions {
  readonly param?: string | null;
  readonly cause?: unknown;
  /** Whether trying again later can succeed (an RPC or Redis blip), as opposed to a bad input. */
  readonly retryable?: boolean;
}

export class ProofgateError extends Error {
  readonly code: ErrorCode;
  readonly param: string | null;
  readonly retryable: boolean;

  constructor(code: ErrorCode, message: string, options: ProofgateErrorOptions = {}) {
    super(message, { cause: options.cause });
    this.name = "ProofgateError";
    this.code = code;
    this.param = options.param ?? null;
    this.retryable = options.retryable ?? false;
  }

  get status(): number {
    return ERROR_CODES[this.code].status;
  }

  get type(): string {
    return ERROR_CODES[this.code].type;
  }
}

export function isProofgateError(err: unknown, code?: ErrorCode): err is ProofgateError {
  return err instanceof ProofgateError && (code === undefined || err.code === code);
}

/**
 * Whether trying again can succeed. A ProofgateError says so itself; anything else (a library's
 * RPC, Redis, database or file-system failure) is taken for a blip.
 */
export function isRetryable(err: unknown): boolean {
  return err instanceof ProofgateError ? err.retryable : true;
}
