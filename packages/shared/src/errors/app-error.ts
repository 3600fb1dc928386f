/**
 * Error codes that cross the HTTP boundary. The HTTP layer owns the mapping from code to
 * status (`http/error-middleware.ts`); domain code only picks a code.
 */
export const ERROR_CODES = [
  'validation_failed',
  'invalid_json',
  'unsupported_media_type',
  'not_found',
  'unknown_queue',
  'no_handler',
  'forbidden_queue',
  'conflict',
  'unauthorized',
  'forbidden',
  'payload_too_large',
  'unavailable',
  'internal',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly details?: unknown;

  constructor(code: ErrorCode, message: string, details?: unknown, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AppError';
    this.code = code;
    if (details !== undefined) this.details = details;
  }
}

export class ValidationError extends AppError {
  constructor(message: string, details?: unknown) {
    super('validation_failed', message, details);
    this.name = 'ValidationError';
  }
}

export class NotFoundError extends AppError {
  constructor(message: string, details?: unknown) {
    super('not_found', message, details);
    this.name = 'NotFoundError';
  }
}

/** Normalises anything caught as `unknown` into an `Error`. */
export function toError(value: unknown): Error {
  if (value instanceof Error) return value;
  if (typeof value === 'string') return new Error(value);
  try {
    return new Error(JSON.stringify(value));
  } catch {
    // An object that cannot be serialised (cycle, BigInt): its tag is all we can say.
    return new Error(Object.prototype.toString.call(value));
  }
}
