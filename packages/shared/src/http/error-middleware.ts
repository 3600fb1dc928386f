import type { ErrorRequestHandler, RequestHandler } from 'express';
import { AppError, redactText, toError, type ErrorCode } from '../errors';
import type { Logger } from '../logger';
import { isRedisUnavailable } from '../redis/unavailable';

/** The one table from error code to HTTP status. */
export const STATUS_BY_CODE: Record<ErrorCode, number> = {
  validation_failed: 400,
  invalid_json: 400,
  unsupported_media_type: 415,
  unauthorized: 401,
  forbidden_queue: 403,
  forbidden: 403,
  not_found: 404,
  unknown_queue: 404,
  conflict: 409,
  payload_too_large: 413,
  no_handler: 422,
  unavailable: 503,
  internal: 500,
};

export interface ErrorBody {
  error: ErrorCode;
  message: string;
  details?: unknown;
}

/** Errors raised by express' body parser carry a `type`; map them to our codes. */
function fromBodyParser(err: unknown): AppError | undefined {
  const type = (err as { type?: unknown }).type;
  if (type === 'entity.too.large') return new AppError('payload_too_large', 'request body is larger than the limit');
  if (type === 'entity.parse.failed') return new AppError('invalid_json', 'request body is not valid JSON');
  if (type === 'encoding.unsupported' || type === 'charset.unsupported') {
    return new AppError('unsupported_media_type', 'unsupported body encoding');
  }
  // The router's own client errors: a path parameter with malformed percent-encoding
  // (`/jobs/q/%E0%A4%A`) is a URIError with status 400; other http-errors of the body parser
  // (`request.size.invalid`, `request.aborted`) carry a 4xx status. Neither is a server fault.
  const status = (err as { status?: unknown }).status;
  if (err instanceof URIError && status === 400) return new AppError('validation_failed', 'malformed percent-encoding in the URL');
  if (typeof status === 'number' && status >= 400 && status < 500 && (err as { expose?: unknown }).expose === true) {
    return new AppError('validation_failed', 'malformed request');
  }
  return undefined;
}

/**
 * Last middleware of every app: writes `{error, message, details?}` with the status from
 * the table. Unknown errors become 500 with a generic message and are logged in full.
 */
export function errorMiddleware(logger: Logger): ErrorRequestHandler {
  return (caught, req, res, _next) => {
    const appError = caught instanceof AppError ? caught : fromBodyParser(caught);
    if (res.headersSent) {
      logger.error({ err: toError(caught) }, 'error after response started');
      res.end();
      return;
    }
    if (appError === undefined && isRedisUnavailable(caught)) {
      // Redis restarting or unreachable: not a bug, and the client should retry.
      logger.warn({ err: { message: toError(caught).message }, method: req.method, path: req.path }, 'redis unavailable');
      res.setHeader('Retry-After', '1');
      const body: ErrorBody = { error: 'unavailable', message: 'a backing Redis is unavailable; retry later' };
      res.status(503).json(body);
      return;
    }
    if (appError === undefined) {
      logger.error({ err: toError(caught), method: req.method, path: req.path }, 'unhandled error');
      const body: ErrorBody = { error: 'internal', message: 'internal server error' };
      res.status(500).json(body);
      return;
    }
    // A message can quote a URL from the request or a backend: never answer its credentials.
    const body: ErrorBody = { error: appError.code, message: redactText(appError.message) };
    if (appError.details !== undefined) body.details = appError.details;
    res.status(STATUS_BY_CODE[appError.code]).json(body);
  };
}

/** Route of last resort: 404 in the same error shape. */
export function notFoundHandler(): RequestHandler {
  return (req, _res, next) => next(new AppError('not_found', `no route for ${req.method} ${req.path}`));
}
