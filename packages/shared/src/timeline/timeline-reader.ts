import type { RedisClient } from '../redis/create-redis';
import { timelineKey, timelineRefKey } from '../names';
import { parseStoredStep, timelineBounds, type Timeline, type TimelineStep } from './timeline-step';

/** What `GET /timeline` looks a timeline up by. */
export type TimelineQuery = { correlationId: string } | { eventId: string } | { queue: string; jobId: string };

/** The correlation id a query names, or undefined when no timeline knows the event or job. */
export async function resolveCorrelation(redis: RedisClient, query: TimelineQuery): Promise<string | undefined> {
  if ('correlationId' in query) return query.correlationId;
  // An event without a correlationid is its own correlation (no look-up key is written for it).
  if ('eventId' in query && (await redis.exists(timelineKey(query.eventId, redis.isCluster))) === 1) return query.eventId;
  const key = 'eventId' in query ? timelineRefKey('event', query.eventId, redis.isCluster) : timelineRefKey('job', `${query.queue}:${query.jobId}`, redis.isCluster);
  return (await redis.get(key)) ?? undefined;
}

function byTime(a: TimelineStep, b: TimelineStep): number {
  return a.at < b.at ? -1 : a.at > b.at ? 1 : a.seq - b.seq;
}

/**
 * A correlation's timeline in order (time, then arrival), or undefined when none is stored.
 * `maxSteps` is the writers' `TIMELINE_MAX_STEPS`: the list holds the first half, a marker
 * `#<omitted>` once it outgrew the bound, and up to twice the last half (compaction is
 * amortised, see `lua/timeline-append-n.lua`); the answer keeps exactly the last half and
 * counts the rest. The kept first steps come before the kept last ones whatever their clocks say.
 */
export async function readTimeline(redis: RedisClient, correlationId: string, maxSteps: number): Promise<Timeline | undefined> {
  const values = await redis.lrange(timelineKey(correlationId, redis.isCluster), 0, -1);
  if (values.length === 0) return undefined;
  const { headSize, tailSize } = timelineBounds(maxSteps);
  const marked = values[headSize]?.startsWith('#') === true;
  let omitted = marked ? Number(values[headSize]!.slice(1)) || 0 : 0;
  const head = values.slice(0, headSize);
  let tail = values.slice(marked ? headSize + 1 : headSize);
  if (tail.length > tailSize) {
    omitted += tail.length - tailSize;
    tail = tail.slice(-tailSize);
  }
  const total = head.length + omitted + tail.length;
  const parse = (stored: string[], firstSeq: number): TimelineStep[] =>
    stored
      .map((value, index) => parseStoredStep(value, firstSeq + index))
      .filter((step): step is TimelineStep => step !== undefined)
      .sort(byTime);
  return {
    correlationId,
    totalSteps: total,
    omittedSteps: omitted,
    steps: [...parse(head, 1), ...parse(tail, total - tail.length + 1)],
  };
}
