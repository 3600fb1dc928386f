import type { ChainableCommander, Redis } from 'ioredis';
import { processedEventsKey } from '@event-infra/shared';

export interface DuplicateFilterOptions {
  /** Consumer group: markers are per group, since each group processes every event once. */
  group: string;
  /** Off: every delivery runs the handlers. */
  enabled: boolean;
  /** How long a processed event id is remembered at least, ms (at most twice as long). */
  windowMs: number;
  now?: () => number;
}

/**
 * Duplicate suppression on the streams Redis, one set per group and time bucket of `windowMs`:
 * after a batch's handlers succeeded, its event ids go into the current bucket (one SADD and
 * one PEXPIRE, queued in the same pipeline as the XACK: no extra round trip, no command per
 * event); before handlers run, SMISMEMBER on the current and the previous bucket (pipelined
 * with the read) finds ids already processed. An id is thus remembered between one and two windows. Marking only
 * after success keeps a failed (or DLQ-retried) event processable.
 */
export class DuplicateFilter {
  private readonly now: () => number;

  constructor(private readonly options: DuplicateFilterOptions) {
    this.now = options.now ?? Date.now;
  }

  get enabled(): boolean {
    return this.options.enabled;
  }

  private bucket(): number {
    return Math.floor(this.now() / this.options.windowMs);
  }

  /** The subset of `eventIds` already processed within the window (one round trip). */
  async findProcessed(redis: Redis, eventIds: readonly string[]): Promise<Set<string>> {
    const pipeline = redis.pipeline();
    const read = this.queueLookup(pipeline, eventIds);
    return read(pipeline.length > 0 ? ((await pipeline.exec()) ?? []) : []);
  }

  /**
   * Queues the look-up of `eventIds` on `pipeline` (two SMISMEMBERs, none when off or empty) and
   * returns the function that reads the answer from that pipeline's results, given from the
   * look-up's first command on.
   */
  queueLookup(pipeline: ChainableCommander, eventIds: readonly string[]): (results: [Error | null, unknown][]) => Set<string> {
    if (!this.options.enabled || eventIds.length === 0) return () => new Set();
    const bucket = this.bucket();
    pipeline.smismember(processedEventsKey(this.options.group, bucket), ...eventIds);
    pipeline.smismember(processedEventsKey(this.options.group, bucket - 1), ...eventIds);
    return (results) => {
      const seen = new Set<string>();
      for (const [err, values] of results.slice(0, 2)) {
        if (err) throw err;
        (values as number[]).forEach((member, index) => {
          if (member === 1) seen.add(eventIds[index]!);
        });
      }
      return seen;
    };
  }

  /** Commands `queueLookup` adds for `eventIds`. */
  lookupLength(eventIds: readonly string[]): number {
    return this.options.enabled && eventIds.length > 0 ? 2 : 0;
  }

  /** Queues the markers of `eventIds` on `pipeline` (nothing when suppression is off). */
  mark(pipeline: ChainableCommander, eventIds: readonly string[]): void {
    if (!this.options.enabled || eventIds.length === 0) return;
    const key = processedEventsKey(this.options.group, this.bucket());
    pipeline.sadd(key, ...eventIds);
    // Current bucket + the next one must still see it; a little slack for clock skew.
    pipeline.pexpire(key, 2 * this.options.windowMs + 60_000);
  }
}
