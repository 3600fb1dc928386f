/**
 * A token bucket per client address that only failed logins drain. While an address has
 * tokens its attempts go through at once; once empty, an attempt with credentials not yet
 * verified waits until the next token is due (at most `maxDelayMs`), then is checked as
 * usual. Credentials verified before (in the cache) never wait, and a correct password is
 * always accepted after the wait: the real admin is slowed at worst, never locked out.
 */
export interface FailureThrottleOptions {
  /** Failures an address may have in a burst before waiting (default 10). */
  burst: number;
  /** Tokens refilled per second (default 1). */
  refillPerSec: number;
  /** Longest wait before an attempt is checked, ms (default 5000). */
  maxDelayMs: number;
  /** Addresses tracked at most; the least recently failing are forgotten (default 10000). */
  maxAddresses: number;
}

interface Bucket {
  tokens: number;
  updatedMs: number;
}

export class FailureThrottle {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    readonly options: FailureThrottleOptions,
    private readonly now: () => number = Date.now,
  ) {}

  private refill(address: string): Bucket | undefined {
    const bucket = this.buckets.get(address);
    if (bucket === undefined) return undefined;
    const nowMs = this.now();
    bucket.tokens = Math.min(this.options.burst, bucket.tokens + ((nowMs - bucket.updatedMs) / 1000) * this.options.refillPerSec);
    bucket.updatedMs = nowMs;
    if (bucket.tokens >= this.options.burst) {
      this.buckets.delete(address);
      return undefined;
    }
    return bucket;
  }

  /** How long an attempt from `address` must wait now, ms (0: go ahead). */
  delayFor(address: string): number {
    const bucket = this.refill(address);
    if (bucket === undefined || bucket.tokens >= 1) return 0;
    return Math.ceil(((1 - bucket.tokens) / this.options.refillPerSec) * 1000);
  }

  /** A failed login from `address` takes one token (the bucket may go negative: queued waiters pay too). */
  recordFailure(address: string): void {
    const bucket = this.refill(address) ?? { tokens: this.options.burst, updatedMs: this.now() };
    bucket.tokens = Math.max(-this.options.burst, bucket.tokens - 1);
    this.buckets.delete(address);
    this.buckets.set(address, bucket);
    while (this.buckets.size > this.options.maxAddresses) {
      this.buckets.delete(this.buckets.keys().next().value as string);
    }
  }
}
