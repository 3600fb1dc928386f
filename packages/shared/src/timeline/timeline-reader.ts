import type { RedisClient } from '../redis/create-redis';
import { createBatch } from '../redis/batch';
import { timelineBucketsKey } from '../names';
import { TIMELINE_MAX_BUCKETS_READ, timelineRefField, timelineStepsField } from './timeline-layout';
import { parseStoredStep, timelineBounds, type Timeline, type TimelineStep } from './timeline-step';

/** What `GET /timeline` looks a timeline up by. */
export type TimelineQuery = { correlationId: string } | { eventId: string } | { queue: string; jobId: string };

/**
 * The live bucket keys, oldest first (by their start time, the key's next-to-last part): what
 * the registry holds with an expiry still ahead, at most `TIMELINE_MAX_BUCKETS_READ`.
 */
async function liveBuckets(redis: RedisClient): Promise<string[]> {
  const keys = await redis.zrangebyscore(timelineBucketsKey(redis.isCluster), Date.now(), '+inf', 'LIMIT', 0, TIMELINE_MAX_BUCKETS_READ);
  const startOf = (key: string): number => Number(key.split(':').at(-2));
  return keys.sort((a, b) => startOf(a) - startOf(b));
}

/** The values of `fields` in every live bucket, oldest bucket first (one pipelined round). */
async function readFields(redis: RedisClient, fields: string[]): Promise<(string | null)[][]> {
  const buckets = await liveBuckets(redis);
  if (buckets.length === 0) return [];
  const batch = createBatch(redis);
  for (const bucket of buckets) batch.hmget(bucket, ...fields);
  const replies = (await batch.exec()) ?? [];
  return replies.map(([err, values]) => {
    if (err) throw err;
    return values as (string | null)[];
  });
}

/** The correlation id a query names, or undefined when no timeline knows the event or job. */
export async function resolveCorrelation(redis: RedisClient, query: TimelineQuery): Promise<string | undefined> {
  if ('correlationId' in query) return query.correlationId;
  // An event without a correlationid is its own correlation (no look-up is written for it).
  const fields = 'eventId' in query ? [timelineRefField('event', query.eventId), timelineStepsField(query.eventId)] : [timelineRefField('job', `${query.queue}:${query.jobId}`)];
  const values = await readFields(redis, fields);
  if ('eventId' in query && values.some((bucket) => bucket[1] !== null)) return query.eventId;
  // The newest bucket's look-up wins (a look-up is written again with each of its steps).
  for (let index = values.length - 1; index >= 0; index -= 1) {
    const ref = values[index]![0];
    if (ref !== null && ref !== undefined) return ref;
  }
  return undefined;
}

function byTime(a: TimelineStep, b: TimelineStep): number {
  return a.at < b.at ? -1 : a.at > b.at ? 1 : a.seq - b.seq;
}

/**
 * The stored lines of one correlation over the buckets, in arrival order, and the steps the
 * buckets' markers say were left out. A field is one step, or `<count>\n` and its lines.
 */
function storedLines(values: (string | null | undefined)[]): { lines: string[]; omitted: number } {
  const lines: string[] = [];
  let omitted = 0;
  for (const value of values) {
    if (value === null || value === undefined) continue;
    if (value.startsWith('[')) {
      lines.push(value);
      continue;
    }
    const all = value.split('\n');
    for (let index = 1; index < all.length; index += 1) {
      const line = all[index]!;
      if (line.startsWith('#')) omitted += Number(line.slice(1)) || 0;
      else lines.push(line);
    }
  }
  return { lines, omitted };
}

/**
 * A correlation's timeline in order (time, then arrival), or undefined when none is stored.
 * `maxSteps` is the writers' `TIMELINE_MAX_STEPS`: each bucket keeps the first half of the
 * correlation's steps in it, a marker `#<omitted>` once it outgrew the bound, and up to twice
 * the last half (see `lua/timeline-append-2.lua`). Over all buckets the answer keeps exactly
 * the first and the last half and counts the rest: every bucket keeps the head and the tail of
 * its own part, so the correlation's first and last steps are always among the kept ones.
 * The kept first steps come before the kept last ones whatever their clocks say.
 */
export async function readTimeline(redis: RedisClient, correlationId: string, maxSteps: number): Promise<Timeline | undefined> {
  const values = await readFields(redis, [timelineStepsField(correlationId)]);
  const { lines, omitted: marked } = storedLines(values.map((bucket) => bucket[0]));
  if (lines.length === 0) return undefined;
  const { headSize, tailSize } = timelineBounds(maxSteps);
  const total = lines.length + marked;
  const head = lines.slice(0, headSize);
  const tail = lines.slice(Math.max(headSize, lines.length - tailSize));
  const parse = (stored: string[], firstSeq: number): TimelineStep[] =>
    stored
      .map((value, index) => parseStoredStep(value, firstSeq + index))
      .filter((step): step is TimelineStep => step !== undefined)
      .sort(byTime);
  return {
    correlationId,
    totalSteps: total,
    omittedSteps: total - head.length - tail.length,
    steps: [...parse(head, 1), ...parse(tail, total - tail.length + 1)],
  };
}
