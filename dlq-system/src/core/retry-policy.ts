import type { FailureClass } from './dlq-classifier';

export interface RetryPolicyOptions {
  /** Automatic retries per original failure (`DLQ_MAX_RETRIES`). */
  maxRetries: number;
  /** Delay before the first retry, ms; doubles for each later one. */
  baseDelayMs: number;
  /** Cap of one delay, ms. */
  maxDelayMs: number;
}

export type RetryDecision =
  | { action: 'retry'; retry: number; delayMs: number }
  | { action: 'park'; parkReason: 'permanent' | 'retries_exhausted' };

/**
 * Exponential backoff with a bounded count. `retriesDone` is how many times this failure has
 * already been sent back (it travels with the job or event), so a loop cannot run forever.
 */
export class RetryPolicy {
  constructor(readonly options: RetryPolicyOptions) {}

  /** Delay before retry number `retry` (1-based): base * 2^(retry-1), capped. */
  delayMs(retry: number): number {
    const exponent = Math.max(0, retry - 1);
    return Math.min(this.options.baseDelayMs * 2 ** Math.min(exponent, 30), this.options.maxDelayMs);
  }

  decide(classification: FailureClass, retriesDone: number): RetryDecision {
    if (classification === 'permanent') return { action: 'park', parkReason: 'permanent' };
    if (retriesDone >= this.options.maxRetries) return { action: 'park', parkReason: 'retries_exhausted' };
    const retry = retriesDone + 1;
    return { action: 'retry', retry, delayMs: this.delayMs(retry) };
  }
}
