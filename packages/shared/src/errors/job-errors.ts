/**
 * Failures a job handler can raise. The queue processor maps `PermanentJobError` to
 * BullMQ's `UnrecoverableError` (no further attempts); the DLQ classifier reads `name`,
 * `code` and `status` to tell transient from permanent.
 */

export interface JobErrorOptions {
  /** Machine-readable code, e.g. `ECONNREFUSED`, `http_status`. */
  code?: string;
  /** HTTP status when the failure came from an HTTP call. */
  status?: number;
  cause?: unknown;
}

export class PermanentJobError extends Error {
  readonly permanent = true as const;
  readonly code?: string;
  readonly status?: number;

  constructor(message: string, options: JobErrorOptions = {}) {
    super(message, { cause: options.cause });
    this.name = 'PermanentJobError';
    if (options.code !== undefined) this.code = options.code;
    if (options.status !== undefined) this.status = options.status;
  }
}

export class RetryableJobError extends Error {
  readonly code?: string;
  readonly status?: number;

  constructor(message: string, options: JobErrorOptions = {}) {
    super(message, { cause: options.cause });
    this.name = 'RetryableJobError';
    if (options.code !== undefined) this.code = options.code;
    if (options.status !== undefined) this.status = options.status;
  }
}

export class JobTimeoutError extends Error {
  readonly code = 'ETIMEDOUT' as const;
  readonly timeoutMs: number;

  constructor(timeoutMs: number) {
    super(`job exceeded its timeout of ${timeoutMs} ms`);
    this.name = 'JobTimeoutError';
    this.timeoutMs = timeoutMs;
  }
}

/** True when an error carries the permanent marker (by class or by a `permanent` flag). */
export function isPermanentError(err: unknown): boolean {
  return (
    err instanceof PermanentJobError ||
    (typeof err === 'object' && err !== null && (err as { permanent?: unknown }).permanent === true)
  );
}
