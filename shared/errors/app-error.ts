/**
 * Every operational error carries a documented code. The HTTP status of each code is decided once, in
 * `httpStatusOf` below; workers retry only errors whose `retryable` is true.
 */
export const errorCodes = {
  /** Request body, query or params did not match the schema; `details` lists the issues. */
  VALIDATION_FAILED: 400,
  /** No credentials, or bad/expired/revoked ones. */
  UNAUTHENTICATED: 401,
  /** Authenticated, but the role may not do this. */
  FORBIDDEN: 403,
  /** Not found, or it belongs to another account (never say which). */
  NOT_FOUND: 404,
  /** The request conflicts with the current state (e.g. e-mail already registered). */
  CONFLICT: 409,
  /** The client stopped sending the request body (no data for longer than the body timeout). */
  REQUEST_TIMEOUT: 408,
  /** Body or file larger than allowed. */
  PAYLOAD_TOO_LARGE: 413,
  /** Not a content type this endpoint accepts. */
  UNSUPPORTED_MEDIA: 415,
  /** The recording could not be read as audio (empty, truncated, not audio, zero length). */
  MEDIA_UNREADABLE: 422,
  /** The recording is longer than the account's limit. */
  MEDIA_TOO_LONG: 422,
  /** More audio decodes than the container declares, by more than 2 s or 5 % (PRODUCT.md "Billing follows the audio that decodes"). */
  MEDIA_DURATION_MISMATCH: 422,
  /** A payment gateway's notification names an amount or currency other than the payment's; nothing is credited. */
  PAYMENT_MISMATCH: 422,
  /** A refund would take the payment's refunds above the amount originally paid. */
  REFUND_EXCEEDS_PAYMENT: 409,
  /** A bank payment arrived after the invoice's validity (7.3.3): refused and flagged for return, nothing credited. */
  INVOICE_EXPIRED: 409,
  /** The invoice cannot take this payment in its current state. */
  INVOICE_NOT_PAYABLE: 409,
  /** The available balance does not cover what this action costs; top up first. */
  INSUFFICIENT_FUNDS: 402,
  /** The account was closed (agreement ended): no new calls are accepted or processed. */
  ACCOUNT_CLOSED: 409,
  /**
   * Staff blocked the account (PRODUCT.md "A blocked account"): its users cannot sign in, its tokens and
   * sources are refused, its calls are not processed.
   */
  ACCOUNT_BLOCKED: 403,
  /** The owner asked to delete the account: no new calls until the request is cancelled. */
  ACCOUNT_DELETION_PENDING: 409,
  /** The owner blocked processing of the account's data: no new calls until unblocked. */
  PROCESSING_BLOCKED: 409,
  /** The call's recording, transcript and analyses were deleted when its retention ended. */
  CALL_PURGED: 410,
  /** Too many requests; `Retry-After` says when to come back. */
  RATE_LIMITED: 429,
  /** A dependency (database, storage, provider) is unavailable; try again later. */
  UNAVAILABLE: 503,
  /**
   * No card payment gateway runs on this server (production without one configured): use a bank
   * invoice. A standing state of the server, not an outage, so 409 rather than 503.
   */
  PAYMENT_GATEWAY_UNAVAILABLE: 409,
  /** A speech-to-text provider failed after retries. */
  TRANSCRIPTION_FAILED: 502,
  /** An analysis provider failed after retries or returned invalid output. */
  ANALYSIS_FAILED: 502,
  /** A pull source's remote (telephony API, call feed, bucket) refused its credentials. */
  SOURCE_AUTH_FAILED: 502,
  /** A pull source's remote could not be reached or answered with an error; the next run retries. */
  SOURCE_UNAVAILABLE: 502,
  /** A programmer error or an unexpected failure. */
  INTERNAL: 500,
} as const;

export type ErrorCode = keyof typeof errorCodes;

export function httpStatusOf(code: ErrorCode): number {
  return errorCodes[code];
}

export interface AppErrorOptions {
  retryable?: boolean;
  /**
   * The work was cut off, not failed: a stop (SIGINT/SIGTERM), a child process ended by such a signal, a
   * cancelled request. Implies `retryable`; workers hand such a job back without spending a retry.
   */
  interrupted?: boolean;
  cause?: unknown;
  context?: Record<string, unknown>;
  details?: unknown;
  headers?: Record<string, string>;
}

export class AppError extends Error {
  override name = "AppError";
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly interrupted: boolean;
  readonly context: Record<string, unknown>;
  readonly details: unknown;
  readonly headers: Record<string, string>;

  constructor(code: ErrorCode, message: string, options: AppErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.interrupted = options.interrupted ?? false;
    this.retryable = this.interrupted || (options.retryable ?? false);
    this.context = options.context ?? {};
    this.details = options.details;
    this.headers = options.headers ?? {};
  }
}

export function isAppError(e: unknown): e is AppError {
  return e instanceof AppError;
}

/**
 * True when the error (or one it wraps) says the work was interrupted by a stop rather than failed:
 * the job goes back to the queue as it was, and the call stays as it is.
 */
export function isInterruption(e: unknown): boolean {
  for (let x = e, depth = 0; x && depth < 6; x = (x as { cause?: unknown }).cause, depth++) {
    if (x instanceof AppError && x.interrupted) return true;
  }
  return false;
}

/** Signals that stop a process on request (a terminal's Ctrl-C, `docker stop`, a closed terminal). */
export const STOP_SIGNALS: ReadonlySet<string> = new Set(["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT"]);

export const notFound = (what = "Resource") => new AppError("NOT_FOUND", `${what} not found.`);
