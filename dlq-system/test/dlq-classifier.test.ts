import { describe, expect, it } from 'vitest';
import type { Failure } from '@event-infra/shared';
import { CLASSIFICATION_RULES, classifyFailure } from '../src/core/dlq-classifier';

/**
 * Each rule with a failure it must match (and that the full table classifies through that
 * rule) and one it must not match.
 */
const CASES: Record<string, { positive: Failure; negative: Failure; expected: 'transient' | 'permanent' }> = {
  'permanent-marker': {
    positive: { message: 'upstream said no', permanent: true, code: 'ECONNREFUSED' },
    negative: { message: 'upstream said no', permanent: false },
    expected: 'permanent',
  },
  'invalid-input-code': {
    positive: { message: 'data.workspaceId: required', code: 'invalid_data' },
    negative: { message: 'x', code: 'ECONNRESET' },
    expected: 'permanent',
  },
  'network-code': {
    positive: { message: 'connect failed', code: 'ECONNREFUSED' },
    negative: { message: 'connect failed', code: 'ENOENT' },
    expected: 'transient',
  },
  'http-retryable-status': {
    positive: { message: 'upstream answered', status: 503 },
    negative: { message: 'upstream answered', status: 404 },
    expected: 'transient',
  },
  'http-client-status': {
    positive: { message: 'upstream answered', status: 422 },
    negative: { message: 'upstream answered', status: 302 },
    expected: 'permanent',
  },
  'transient-error-name': {
    positive: { message: 'job exceeded its timeout of 5 ms', name: 'JobTimeoutError' },
    negative: { message: 'x', name: 'Error' },
    expected: 'transient',
  },
  'permanent-error-name': {
    positive: { message: 'x', name: 'PermanentJobError' },
    negative: { message: 'x', name: 'RangeError' },
    expected: 'permanent',
  },
  'transient-message': {
    positive: { message: 'Service Unavailable, try again later' },
    negative: { message: 'division by zero' },
    expected: 'transient',
  },
  'permanent-message': {
    positive: { message: 'no handler for job "foo.bar"' },
    negative: { message: 'division by zero' },
    expected: 'permanent',
  },
};

describe('dlq-classifier', () => {
  it('has a test case for every rule', () => {
    expect(Object.keys(CASES).sort()).toEqual(CLASSIFICATION_RULES.map((rule) => rule.name).sort());
  });

  for (const rule of CLASSIFICATION_RULES) {
    describe(rule.name, () => {
      const testCase = CASES[rule.name]!;
      it('matches its positive case and the table classifies it through this rule', () => {
        expect(rule.matches(testCase.positive)).toBe(true);
        expect(rule.classification).toBe(testCase.expected);
        expect(classifyFailure(testCase.positive)).toEqual({ classification: testCase.expected, rule: rule.name, reason: rule.reason });
      });
      it('does not match its negative case', () => {
        expect(rule.matches(testCase.negative)).toBe(false);
        expect(classifyFailure(testCase.negative).rule).not.toBe(rule.name);
      });
    });
  }

  it('falls back to transient "default" when nothing matches', () => {
    expect(classifyFailure({ message: 'division by zero', name: 'RangeError' })).toMatchObject({ classification: 'transient', rule: 'default' });
  });

  it('lets markers win over message guesses (order of the table)', () => {
    expect(classifyFailure({ message: 'request timed out', status: 400 }).rule).toBe('http-client-status');
    expect(classifyFailure({ message: 'invalid token', code: 'ETIMEDOUT' }).rule).toBe('network-code');
    expect(classifyFailure({ message: 'timeout', permanent: true }).classification).toBe('permanent');
  });

  it('classifies 429 and 408 as transient, 5xx boundary included', () => {
    expect(classifyFailure({ message: 'x', status: 429 }).classification).toBe('transient');
    expect(classifyFailure({ message: 'x', status: 408 }).classification).toBe('transient');
    expect(classifyFailure({ message: 'x', status: 500 }).classification).toBe('transient');
    expect(classifyFailure({ message: 'x', status: 499 }).classification).toBe('permanent');
  });
});
