/**
 * The classifier's lists and message patterns, one literal case each (the lists are written
 * out here, not read from the module, so a changed or dropped entry fails a case).
 */
import { describe, expect, it } from 'vitest';
import { classifyFailure } from '../src/core/dlq-classifier';

const NETWORK_CODES = [
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
];
const INVALID_CODES = ['invalid_envelope', 'unknown_family', 'unknown_type', 'invalid_data', 'bad_json', 'validation_failed', 'no_handler', 'unknown_job', 'unknown_queue'];
const TRANSIENT_NAMES = ['JobTimeoutError', 'TimeoutError', 'RetryableJobError'];
const PERMANENT_NAMES = ['PermanentJobError', 'UnrecoverableError', 'ValidationError', 'InvalidEventError', 'ZodError', 'NotFoundError'];

const TRANSIENT_MESSAGES = [
  'request timed out',
  'operation time out',
  'timeout',
  'Timedout while waiting',
  'socket hang up',
  'connection refused by peer',
  'Connection reset',
  'connection closed early',
  'temporary failure in name resolution',
  'temporarily down',
  'Service Unavailable',
  'please try again',
  'Too Many Requests',
  'rate limit exceeded',
  'ratelimit hit',
  'rate-limit hit',
  'server overloaded',
  'resource busy',
];
const PERMANENT_MESSAGES = [
  'invalid token',
  'validation error on field x',
  'malformed body',
  'user not found',
  'unknown job "x"',
  'unknown handler y',
  'unknown type z',
  'no handler for this',
  'unauthorized',
  'unauthorised',
  'Forbidden',
  'bad request',
  'method not allowed',
  'unprocessable entity',
];

describe('dlq-classifier lists', () => {
  it.each(NETWORK_CODES)('network code %s is transient', (code) => {
    expect(classifyFailure({ message: 'x', code })).toMatchObject({ classification: 'transient', rule: 'network-code' });
  });

  it.each(INVALID_CODES)('input code %s is permanent', (code) => {
    expect(classifyFailure({ message: 'x', code })).toMatchObject({ classification: 'permanent', rule: 'invalid-input-code' });
  });

  it.each(TRANSIENT_NAMES)('error class %s is transient', (name) => {
    expect(classifyFailure({ message: 'x', name })).toMatchObject({ classification: 'transient', rule: 'transient-error-name' });
  });

  it.each(PERMANENT_NAMES)('error class %s is permanent', (name) => {
    expect(classifyFailure({ message: 'x', name })).toMatchObject({ classification: 'permanent', rule: 'permanent-error-name' });
  });

  it.each(TRANSIENT_MESSAGES)('message "%s" is transient', (message) => {
    expect(classifyFailure({ message })).toMatchObject({ classification: 'transient', rule: 'transient-message' });
  });

  it.each(PERMANENT_MESSAGES)('message "%s" is permanent', (message) => {
    expect(classifyFailure({ message })).toMatchObject({ classification: 'permanent', rule: 'permanent-message' });
  });

  it('an unknown code, name or status falls through to the next rules', () => {
    expect(classifyFailure({ message: 'x', code: 'ENOENT', name: 'Error', status: 302 }).rule).toBe('default');
    expect(classifyFailure({ message: 'x', status: 399 }).rule).toBe('default');
    expect(classifyFailure({ message: 'x', status: 400 })).toMatchObject({ classification: 'permanent', rule: 'http-client-status' });
    expect(classifyFailure({ message: 'x', status: 407 }).rule).toBe('http-client-status');
    expect(classifyFailure({ message: 'x', status: 409 }).rule).toBe('http-client-status');
    expect(classifyFailure({ message: 'x', status: 428 }).rule).toBe('http-client-status');
    expect(classifyFailure({ message: 'x', status: 430 }).rule).toBe('http-client-status');
    expect(classifyFailure({ message: 'x', status: 599 }).rule).toBe('http-retryable-status');
    expect(classifyFailure({ message: 'x', status: 500 }).rule).toBe('http-retryable-status');
    // Matching is on whole words of the lists, not on substrings of the code.
    expect(classifyFailure({ message: 'x', code: 'ECONNREFUSED_X' }).rule).toBe('default');
    expect(classifyFailure({ message: 'plain failure', permanent: false, code: undefined }).rule).toBe('default');
  });

  it('rules can be replaced: an empty table classifies everything as the transient default', () => {
    expect(classifyFailure({ message: 'invalid', permanent: true }, [])).toEqual({
      classification: 'transient',
      rule: 'default',
      reason: 'no rule matched: retried within the bounded budget, then parked',
    });
  });
});
