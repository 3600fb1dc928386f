import type { Failure } from '@event-infra/shared';

export type FailureClass = 'transient' | 'permanent';

export interface Classification {
  classification: FailureClass;
  /** Name of the rule that decided (`default` when none matched). */
  rule: string;
  /** Human-readable reason, stored with the entry. */
  reason: string;
}

export interface ClassificationRule {
  name: string;
  classification: FailureClass;
  /** Why this rule exists; part of the recorded reason. */
  reason: string;
  matches: (failure: Failure) => boolean;
}

/** Network error codes of Node (libuv) and undici that say "try again later". */
export const TRANSIENT_CODES = [
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'ESOCKETTIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ECONNABORTED',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_SOCKET',
] as const;

/** Reasons of `InvalidEventError` (shared events) and validation codes: retrying cannot help. */
export const INVALID_INPUT_CODES = [
  'invalid_envelope',
  'unknown_family',
  'unknown_type',
  'invalid_data',
  'bad_json',
  'validation_failed',
  'no_handler',
  'unknown_job',
  'unknown_queue',
] as const;

const TRANSIENT_NAMES = ['JobTimeoutError', 'TimeoutError', 'RetryableJobError'];
const PERMANENT_NAMES = ['PermanentJobError', 'UnrecoverableError', 'ValidationError', 'InvalidEventError', 'ZodError', 'NotFoundError'];

const TRANSIENT_MESSAGE =
  /timed? ?out|timeout|socket hang up|connection (?:refused|reset|closed)|temporar(?:y|ily)|unavailable|try again|too many requests|rate.?limit|overloaded|busy/i;
const PERMANENT_MESSAGE =
  /invalid|validation|malformed|not found|unknown (?:job|handler|type)|no handler|unauthori[sz]ed|forbidden|bad request|not allowed|unprocessable/i;

const isStatus = (failure: Failure, test: (status: number) => boolean): boolean =>
  failure.status !== undefined && test(failure.status);

/**
 * The classification rules, in order: the first that matches decides. Markers set by the
 * failing code come first (permanent flag, codes, HTTP status, error class), message
 * patterns last because they are guesses. Nothing matched: `default` (transient), so the
 * failure gets the bounded automatic retries before it is parked.
 */
export const CLASSIFICATION_RULES: readonly ClassificationRule[] = [
  {
    name: 'permanent-marker',
    classification: 'permanent',
    reason: 'the handler marked the failure permanent',
    matches: (f) => f.permanent === true,
  },
  {
    name: 'invalid-input-code',
    classification: 'permanent',
    reason: 'invalid event or job input (validation, unknown type or handler)',
    matches: (f) => f.code !== undefined && (INVALID_INPUT_CODES as readonly string[]).includes(f.code),
  },
  {
    name: 'network-code',
    classification: 'transient',
    reason: 'network error (connection refused/reset, timeout, DNS retry)',
    matches: (f) => f.code !== undefined && (TRANSIENT_CODES as readonly string[]).includes(f.code),
  },
  {
    name: 'http-retryable-status',
    classification: 'transient',
    reason: 'HTTP 5xx, 429 or 408 from the called service',
    matches: (f) => isStatus(f, (s) => s >= 500 || s === 429 || s === 408),
  },
  {
    name: 'http-client-status',
    classification: 'permanent',
    reason: 'HTTP 4xx: the request itself is wrong',
    matches: (f) => isStatus(f, (s) => s >= 400 && s < 500),
  },
  {
    name: 'transient-error-name',
    classification: 'transient',
    reason: 'timeout or retryable error class',
    matches: (f) => f.name !== undefined && TRANSIENT_NAMES.includes(f.name),
  },
  {
    name: 'permanent-error-name',
    classification: 'permanent',
    reason: 'permanent or validation error class',
    matches: (f) => f.name !== undefined && PERMANENT_NAMES.includes(f.name),
  },
  {
    name: 'transient-message',
    classification: 'transient',
    reason: 'message says timeout, connection problem, rate limit or unavailability',
    matches: (f) => TRANSIENT_MESSAGE.test(f.message),
  },
  {
    name: 'permanent-message',
    classification: 'permanent',
    reason: 'message says invalid input, not found or not allowed',
    matches: (f) => PERMANENT_MESSAGE.test(f.message),
  },
];

const DEFAULT_CLASSIFICATION: Classification = {
  classification: 'transient',
  rule: 'default',
  reason: 'no rule matched: retried within the bounded budget, then parked',
};

/** Classifies a failure with `rules` (default: `CLASSIFICATION_RULES`). Pure. */
export function classifyFailure(failure: Failure, rules: readonly ClassificationRule[] = CLASSIFICATION_RULES): Classification {
  for (const rule of rules) {
    if (rule.matches(failure)) return { classification: rule.classification, rule: rule.name, reason: rule.reason };
  }
  return DEFAULT_CLASSIFICATION;
}
