import type { NextFunction, Request, Response } from "express";
import { isTransientDbError } from "../../../shared/db/transient-errors.ts";
import { AppError, httpStatusOf, isAppError } from "../../../shared/errors/app-error.ts";
import type { Logger } from "../../../shared/logging/logger.ts";

/** The one error envelope: {"error": {"code","message","requestId","details"?}}. */
export function sendError(res: Response, error: AppError): void {
  const status = httpStatusOf(error.code);
  for (const [k, v] of Object.entries(error.headers)) res.setHeader(k, v);
  res.status(status).json({
    error: {
      code: error.code,
      message: error.message,
      requestId: res.locals.requestId,
      ...(error.details === undefined ? {} : { details: error.details }),
    },
  });
}

export function notFoundHandler(_req: Request, _res: Response, next: NextFunction): void {
  next(new AppError("NOT_FOUND", "No such endpoint."));
}

/** Maps every thrown thing to the envelope; body-parser errors become 400/413/415 with our codes. */
export function errorHandler(logger: Logger) {
  return (error: unknown, _req: Request, res: Response, _next: NextFunction): void => {
    const log: Logger = res.locals.log ?? logger;
    const appError = toAppError(error);
    if (appError.code === "INTERNAL") log.error({ err: error }, "request failed");
    else log.info({ code: appError.code }, "request refused");
    if (res.headersSent) {
      res.destroy();
      return;
    }
    sendError(res, appError);
  };
}

function toAppError(error: unknown): AppError {
  if (isAppError(error)) return error;
  const e = error as { type?: string; status?: number; expose?: boolean };
  if (e?.type === "entity.too.large")
    return new AppError("PAYLOAD_TOO_LARGE", "The request body is too large.");
  if (e?.type === "entity.parse.failed")
    return new AppError("VALIDATION_FAILED", "The body is not valid JSON.");
  if (e?.type === "encoding.unsupported" || e?.type === "charset.unsupported") {
    return new AppError("UNSUPPORTED_MEDIA", "Unsupported body encoding.");
  }
  if (isTransientDbError(error)) {
    // The database is restarting or unreachable: the client may try again shortly.
    return new AppError("UNAVAILABLE", "The service is briefly unavailable; try again shortly.", {
      retryable: true,
      cause: error,
      headers: { "Retry-After": "5" },
    });
  }
  if (typeof e?.status === "number" && e.status >= 400 && e.status < 500 && e.expose) {
    return new AppError("VALIDATION_FAILED", "The request could not be read.");
  }
  return new AppError("INTERNAL", "Something went wrong on our side; it has been logged.", { cause: error });
}
