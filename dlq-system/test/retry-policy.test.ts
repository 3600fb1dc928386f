import { describe, expect, it } from 'vitest';
import { RetryPolicy } from '../src/core/retry-policy';

describe('retry-policy', () => {
  const policy = new RetryPolicy({ maxRetries: 3, baseDelayMs: 1_000, maxDelayMs: 5_000 });

  it('doubles the delay per retry from the base, up to the cap', () => {
    expect([1, 2, 3, 4, 5].map((retry) => policy.delayMs(retry))).toEqual([1_000, 2_000, 4_000, 5_000, 5_000]);
  });

  it('retries a transient failure while retries remain, counting from what travelled with it', () => {
    expect(policy.decide('transient', 0)).toEqual({ action: 'retry', retry: 1, delayMs: 1_000 });
    expect(policy.decide('transient', 2)).toEqual({ action: 'retry', retry: 3, delayMs: 4_000 });
  });

  it('parks a transient failure out of retries, and a permanent one at once', () => {
    expect(policy.decide('transient', 3)).toEqual({ action: 'park', parkReason: 'retries_exhausted' });
    expect(policy.decide('permanent', 0)).toEqual({ action: 'park', parkReason: 'permanent' });
  });

  it('parks everything when DLQ_MAX_RETRIES is 0', () => {
    expect(new RetryPolicy({ maxRetries: 0, baseDelayMs: 1, maxDelayMs: 1 }).decide('transient', 0).action).toBe('park');
  });
});

describe('retry-policy bounds', () => {
  it('treats retry 0 or below as the first, and never overflows for huge retry numbers', () => {
    const policy = new RetryPolicy({ maxRetries: 1_000, baseDelayMs: 1_000, maxDelayMs: 3_600_000 });
    expect(policy.delayMs(0)).toBe(1_000);
    expect(policy.delayMs(-5)).toBe(1_000);
    expect(policy.delayMs(2)).toBe(2_000);
    expect(policy.delayMs(1_000)).toBe(3_600_000);
    // The exponent is capped at 30: base * 2^30, not Infinity, when the cap is higher still.
    const uncapped = new RetryPolicy({ maxRetries: 1_000, baseDelayMs: 1, maxDelayMs: Number.MAX_SAFE_INTEGER });
    expect(uncapped.delayMs(31)).toBe(2 ** 30);
    expect(uncapped.delayMs(5_000)).toBe(2 ** 30);
    expect(uncapped.delayMs(30)).toBe(2 ** 29);
  });

  it('retries exactly maxRetries times', () => {
    const policy = new RetryPolicy({ maxRetries: 2, baseDelayMs: 10, maxDelayMs: 100 });
    expect(policy.decide('transient', 1)).toEqual({ action: 'retry', retry: 2, delayMs: 20 });
    expect(policy.decide('transient', 2)).toEqual({ action: 'park', parkReason: 'retries_exhausted' });
    expect(policy.decide('permanent', 5)).toEqual({ action: 'park', parkReason: 'permanent' });
  });
});
