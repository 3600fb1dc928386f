import type { Request, Response } from 'express';
import { ValidationError } from '../errors';
import { CORRELATION_HEADER } from '../names';
import { CORRELATION_ID_PATTERN, newCorrelationId } from '../trace/job-trace';

/**
 * The correlation id a caller chose for a request (header `X-Correlation-Id`, or `fromBody`,
 * e.g. the envelope's `correlationid`), checked (1-256 printable ASCII); 400 when malformed or
 * when header and body disagree. `fallback` (default: a fresh UUID) when the caller chose none.
 */
export function requestCorrelation(req: Request, fromBody?: string, fallback: () => string = newCorrelationId): string {
  const raw = req.headers[CORRELATION_HEADER];
  if (Array.isArray(raw)) throw new ValidationError(`${CORRELATION_HEADER} given more than once`);
  if (raw !== undefined && !CORRELATION_ID_PATTERN.test(raw)) {
    throw new ValidationError(`${CORRELATION_HEADER} must be 1-256 printable ASCII characters without spaces`);
  }
  if (raw !== undefined && fromBody !== undefined && raw !== fromBody) {
    throw new ValidationError(`${CORRELATION_HEADER} and the body's correlationid differ`);
  }
  return raw ?? fromBody ?? fallback();
}

/** Sends the correlation id back (`X-Correlation-Id`). */
export function sendCorrelation(res: Response, correlationId: string): void {
  res.setHeader(CORRELATION_HEADER, correlationId);
}
