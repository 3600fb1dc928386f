import type { ChainableCommander, Redis } from 'ioredis';
import { processedEventKey } from '@event-infra/shared';

export interface DuplicateFilterOptions {
  /** Consumer group: markers are per group, since each group processes every event once. */
  group: string;
  /** Off: every delivery runs the handlers. */
  enabled: boolean;
  /** How long a processed event id is remembered, ms. */
  windowMs: number;
}

/**
 * Duplicate suppression on the streams Redis: after an event's handlers succeeded its id is
 * marked (`SET key 1 PX window`, in the same pipeline as the XACK, so no extra round trip);
 * before handlers run, one MGET per batch finds ids already marked. Marking only after success
 * keeps a failed (or DLQ-retried) event processable.
 */
export class DuplicateFilter {
  constructor(private readonly options: DuplicateFilterOptions) {}

  get enabled(): boolean {
    return this.options.enabled;
  }

  /** The subset of `eventIds` already processed within the window (one MGET). */
  async findProcessed(redis: Redis, eventIds: readonly string[]): Promise<Set<string>> {
    if (!this.options.enabled || eventIds.length === 0) return new Set();
    const values = await redis.mget(...eventIds.map((id) => processedEventKey(this.options.group, id)));
    const seen = new Set<string>();
    values.forEach((value, index) => {
      if (value !== null) seen.add(eventIds[index]!);
    });
    return seen;
  }

  /** Queues the markers for `eventIds` on `pipeline`. */
  mark(pipeline: ChainableCommander, eventIds: readonly string[]): void {
    if (!this.options.enabled) return;
    const px = String(this.options.windowMs);
    for (const id of eventIds) pipeline.set(processedEventKey(this.options.group, id), '1', 'PX', px);
  }
}
