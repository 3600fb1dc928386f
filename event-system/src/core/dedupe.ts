import { createBatch } from '@event-infra/shared';
import type { RedisClient } from '@event-infra/shared';
import type { ChainableCommander } from 'ioredis';
import { processedEventsKey, queueFlatCommand } from '@event-infra/shared';

/**
 * KEYS: current and previous bucket; ARGV: event ids. Returns the 0-based positions of the ids
 * in either set. SMISMEMBER in chunks (Lua's unpack has a stack limit of about 8,000 values).
 */
const LOOKUP_SCRIPT = `
local found = {}
local n = #ARGV
for first = 1, n, 1000 do
  local last = math.min(first + 999, n)
  local a = redis.call('SMISMEMBER', KEYS[1], unpack(ARGV, first, last))
  local b = redis.call('SMISMEMBER', KEYS[2], unpack(ARGV, first, last))
  for i = 1, last - first + 1 do
    if a[i] == 1 or b[i] == 1 then found[#found + 1] = first + i - 2 end
  end
end
return found
`;

export interface DuplicateFilterOptions {
  /** Consumer group: markers are per group, since each group processes every event once. */
  group: string;
  /** Off: every delivery runs the handlers. */
  enabled: boolean;
  /** How long a processed event id is remembered at least, ms (at most twice as long). */
  windowMs: number;
  /** On a Redis Cluster: the group's markers share one slot (the look-up script reads two buckets). */
  clustered?: boolean;
  now?: () => number;
}

/**
 * Duplicate suppression on the streams Redis, one set per group and time bucket of `windowMs`:
 * after a batch's handlers succeeded, its event ids go into the current bucket (one SADD and
 * one PEXPIRE, queued in the same pipeline as the XACK: no extra round trip, no command per
 * event); before handlers run, one script (SMISMEMBER on the current and the previous bucket,
 * pipelined with the read) finds ids already processed. An id is thus remembered between one and two windows. Marking only
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
  async findProcessed(redis: RedisClient, eventIds: readonly string[]): Promise<Set<string>> {
    const pipeline = createBatch(redis);
    const read = this.queueLookup(pipeline, eventIds);
    return read(pipeline.length > 0 ? ((await pipeline.exec()) ?? []) : []);
  }

  /**
   * Queues the look-up of `eventIds` on `pipeline` (one script: the ids travel once, the answer
   * is only the positions found; none when off or empty) and returns the function that reads
   * the answer from that pipeline's results, given from the look-up's command on.
   */
  queueLookup(pipeline: ChainableCommander, eventIds: readonly string[]): (results: [Error | null, unknown][]) => Set<string> {
    if (!this.options.enabled || eventIds.length === 0) return () => new Set();
    const bucket = this.bucket();
    const keys = [processedEventsKey(this.options.group, bucket, this.options.clustered), processedEventsKey(this.options.group, bucket - 1, this.options.clustered)];
    queueFlatCommand(pipeline, 'eval', [LOOKUP_SCRIPT, 2], keys, eventIds);
    return (results) => {
      const seen = new Set<string>();
      const [err, found] = results[0] ?? [new Error('duplicate look-up missing from the pipeline'), null];
      if (err) throw err;
      for (const index of found as number[]) seen.add(eventIds[index]!);
      return seen;
    };
  }

  /** Commands `queueLookup` adds for `eventIds`. */
  lookupLength(eventIds: readonly string[]): number {
    return this.options.enabled && eventIds.length > 0 ? 1 : 0;
  }

  /** Queues the markers of `eventIds` on `pipeline` (nothing when suppression is off). */
  mark(pipeline: ChainableCommander, eventIds: readonly string[]): void {
    if (!this.options.enabled || eventIds.length === 0) return;
    const key = processedEventsKey(this.options.group, this.bucket(), this.options.clustered);
    queueFlatCommand(pipeline, 'sadd', [key], eventIds);
    // Current bucket + the next one must still see it; a little slack for clock skew.
    pipeline.pexpire(key, 2 * this.options.windowMs + 60_000);
  }
}
