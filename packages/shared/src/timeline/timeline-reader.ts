import type { RedisClient } from '../redis/create-redis';
import { timelineKeys, timelineRefKey } from '../names';
import { parseStoredStep, type Timeline, type TimelineStep } from './timeline-step';

/** What `GET /timeline` looks a timeline up by. */
export type TimelineQuery = { correlationId: string } | { eventId: string } | { queue: string; jobId: string };

/** The correlation id a query names, or undefined when no timeline knows the event or job. */
export async function resolveCorrelation(redis: RedisClient, query: TimelineQuery): Promise<string | undefined> {
  if ('correlationId' in query) return query.correlationId;
  // An event without a correlationid is its own correlation (no look-up key is written for it).
  if ('eventId' in query && (await redis.exists(timelineKeys(query.eventId, redis.isCluster).meta)) === 1) return query.eventId;
  const key = 'eventId' in query ? timelineRefKey('event', query.eventId) : timelineRefKey('job', `${query.queue}:${query.jobId}`);
  return (await redis.get(key)) ?? undefined;
}

function byTime(a: TimelineStep, b: TimelineStep): number {
  return a.at < b.at ? -1 : a.at > b.at ? 1 : a.seq - b.seq;
}

/**
 * A correlation's timeline in order (time, then arrival), or undefined when none is stored.
 * The kept first steps come before the kept last ones whatever their clocks say.
 */
export async function readTimeline(redis: RedisClient, correlationId: string): Promise<Timeline | undefined> {
  const keys = timelineKeys(correlationId, redis.isCluster);
  const [head, tail, meta] = await Promise.all([redis.lrange(keys.head, 0, -1), redis.lrange(keys.tail, 0, -1), redis.hgetall(keys.meta)]);
  const total = Number(meta.steps ?? 0);
  if (total === 0 && head.length === 0) return undefined;
  const parse = (values: string[]): TimelineStep[] =>
    values.map(parseStoredStep).filter((step): step is TimelineStep => step !== undefined).sort(byTime);
  return {
    correlationId,
    totalSteps: total,
    omittedSteps: Number(meta.omitted ?? 0),
    steps: [...parse(head), ...parse(tail)],
  };
}
