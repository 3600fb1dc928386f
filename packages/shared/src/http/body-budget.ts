import type { RequestHandler } from 'express';
import { AppError } from '../errors';

/** A size like `1mb`, `512kb` or `2048` (bytes) in bytes (kb = 1,024 bytes, as express' limit). */
export function sizeToBytes(size: string): number {
  const match = /^(\d+)(b|kb|mb)?$/i.exec(size.trim());
  if (!match) throw new Error(`not a size like 1mb or 512kb: ${size}`);
  const unit = (match[2] ?? 'b').toLowerCase();
  return Number(match[1]) * (unit === 'mb' ? 1024 * 1024 : unit === 'kb' ? 1024 : 1);
}

export interface BodyBudgetOptions {
  /** Request body bytes the process holds at most at once (`HTTP_BODY_MAX_IN_FLIGHT`), bytes. */
  maxBytesInFlight: number;
  /** The largest body one request may send (`HTTP_BODY_LIMIT`), bytes: what a chunked body reserves. */
  bodyLimitBytes: number;
}

/**
 * Bounds the request body bytes in flight per process (docs/benchmarks/memory.md, "Memory work"): a request with a
 * body reserves its `Content-Length` (a chunked one the whole body limit, its worst case) from
 * when it arrives until its response is closed, because the parsed body lives that long. A
 * request that would take the total past `maxBytesInFlight` is answered 503 `unavailable` with
 * `Retry-After: 1` before its body is read; one request is always admitted when nothing else is
 * in flight, so a budget below the body limit still serves one body at a time.
 */
export function bodyBudget(options: BodyBudgetOptions): RequestHandler {
  let inFlightBytes = 0;
  return (req, res, next) => {
    const length = req.headers['content-length'];
    const chunked = req.headers['transfer-encoding'] !== undefined;
    if (!chunked && (length === undefined || length === '0')) return next();
    const declared = chunked ? options.bodyLimitBytes : Number(length);
    // A declared length over the limit is refused by the body parser (413) without reading it.
    const bytes = Number.isFinite(declared) ? Math.min(declared, options.bodyLimitBytes) : options.bodyLimitBytes;
    if (inFlightBytes > 0 && inFlightBytes + bytes > options.maxBytesInFlight) {
      res.setHeader('Retry-After', '1');
      return next(new AppError('unavailable', `too many request body bytes in flight (HTTP_BODY_MAX_IN_FLIGHT ${options.maxBytesInFlight} bytes); retry later`));
    }
    inFlightBytes += bytes;
    res.once('close', () => {
      inFlightBytes -= bytes;
    });
    next();
  };
}

/** The budget of a service's config (`HTTP_BODY_MAX_IN_FLIGHT`, `HTTP_BODY_LIMIT`). */
export function bodyBudgetOf(config: { HTTP_BODY_MAX_IN_FLIGHT: string; HTTP_BODY_LIMIT: string }): BodyBudgetOptions {
  return { maxBytesInFlight: sizeToBytes(config.HTTP_BODY_MAX_IN_FLIGHT), bodyLimitBytes: sizeToBytes(config.HTTP_BODY_LIMIT) };
}
