import type { RedisClient } from '../redis/create-redis';
import { createBatch } from '../redis/batch';
import { timelineBucketsKey } from '../names';
import { TIMELINE_MAX_BUCKETS_READ, decodeHandledDelivery, timelineHandledField, timelineRefField, timelineStepsField } from './timeline-layout';
import { encodeStep, parseStoredStep, timelineBounds, type Timeline, type TimelineStep } from './timeline-step';

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

/** The values of `fields` in every live bucket, oldest bucket first (one pipelined round), with the bucket keys. */
async function readFields(redis: RedisClient, fields: string[]): Promise<{ buckets: string[]; values: (string | null)[][] }> {
  const buckets = await liveBuckets(redis);
  if (buckets.length === 0) return { buckets, values: [] };
  const batch = createBatch(redis);
  for (const bucket of buckets) batch.hmget(bucket, ...fields);
  const replies = (await batch.exec()) ?? [];
  const values = replies.map(([err, reply]) => {
    if (err) throw err;
    return reply as (string | null)[];
  });
  return { buckets, values };
}

/** The correlation id a query names, or undefined when no timeline knows the event or job. */
export async function resolveCorrelation(redis: RedisClient, query: TimelineQuery): Promise<string | undefined> {
  if ('correlationId' in query) return query.correlationId;
  // An event without a correlationid is its own correlation (no look-up is written for it).
  const fields =
    'eventId' in query
      ? [timelineRefField('event', query.eventId), timelineStepsField(query.eventId), timelineHandledField(query.eventId)]
      : [timelineRefField('job', `${query.queue}:${query.jobId}`)];
  const { values } = await readFields(redis, fields);
  if ('eventId' in query && values.some((bucket) => bucket[1] !== null || bucket[2] !== null)) return query.eventId;
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

/** The lines of one bucket's field: one step, or `<count>\n` and its lines (steps and markers). */
function fieldLines(value: string | null | undefined): string[] {
  if (value === null || value === undefined) return [];
  return value.startsWith('[') ? [value] : value.split('\n').slice(1);
}

/** Time (epoch ms) of a stored step line; undefined for a marker or a line that is not a step. */
function lineAtMs(line: string): number | undefined {
  const step = line.startsWith('#') ? undefined : parseStoredStep(line, 0);
  return step === undefined ? undefined : Date.parse(step.at);
}

/**
 * The `event.handled` step of event `eventId` that a bucket's pointer names
 * (`<batch field> <entry id> <kind>[ <cause>]`), in the stored form `record` would have written,
 * with its time; undefined when the record is gone.
 */
function expandHandled(eventId: string, pointer: string, record: string | null | undefined): { line: string; atMs: number } | undefined {
  if (record === null || record === undefined) return undefined;
  const decoded = decodeHandledDelivery(eventId, pointer, record);
  if (decoded === undefined) return undefined;
  const { atMs, service, consumer, delivery } = decoded;
  const detail = {
    type: delivery.type,
    source: delivery.source,
    entryId: delivery.entryId,
    deliveries: 1,
    ...(consumer !== undefined ? { consumer } : {}),
    handlers: delivery.handlers,
  };
  return { line: encodeStep({ kind: 'event.handled', subject: delivery.eventId, cause: delivery.cause }, JSON.stringify(service), atMs, detail), atMs };
}

/**
 * The stored lines of one correlation over the buckets in arrival order (a batch record's step
 * goes before the first later step of its bucket), and the steps the markers say were left out.
 */
async function storedLines(redis: RedisClient, correlationId: string): Promise<{ lines: string[]; omitted: number }> {
  const { buckets, values } = await readFields(redis, [timelineStepsField(correlationId), timelineHandledField(correlationId)]);
  // Second round, only where a bucket points at a batch record: the records themselves.
  const asked = values.flatMap((bucket, index) => (bucket[1] !== null && bucket[1] !== undefined ? [{ index, field: bucket[1].split(' ')[0]! }] : []));
  const records = new Map<number, string | null>();
  if (asked.length > 0) {
    const batch = createBatch(redis);
    for (const { index, field } of asked) batch.hget(buckets[index]!, field);
    const replies = (await batch.exec()) ?? [];
    asked.forEach(({ index }, at) => {
      const [err, reply] = replies[at] ?? [null, null];
      if (err) throw err;
      records.set(index, reply as string | null);
    });
  }
  const lines: string[] = [];
  let omitted = 0;
  values.forEach((bucket, index) => {
    const own = fieldLines(bucket[0]);
    const pointer = bucket[1];
    const handled = pointer === null || pointer === undefined ? undefined : expandHandled(correlationId, pointer, records.get(index));
    if (handled !== undefined) {
      const later = own.findIndex((line) => (lineAtMs(line) ?? -Infinity) > handled.atMs);
      own.splice(later === -1 ? own.length : later, 0, handled.line);
    }
    for (const line of own) {
      if (line.startsWith('#')) omitted += Number(line.slice(1)) || 0;
      else lines.push(line);
    }
  });
  return { lines, omitted };
}

/**
 * A correlation's timeline in order (time, then arrival), or undefined when none is stored.
 * `maxSteps` is the writers' `TIMELINE_MAX_STEPS`: each bucket keeps the first half of the
 * correlation's steps in it, a marker `#<omitted>` once it outgrew the bound, and up to twice
 * the last half (see `lua/timeline-append-3.lua`); a bucket may also hold the event's
 * `event.handled` step in a batch record (`recordHandled`). Over all buckets the answer keeps
 * exactly the first and the last half and counts the rest: every bucket keeps the head and the
 * tail of its own part, so the correlation's first and last steps are among the kept ones.
 * The kept first steps come before the kept last ones whatever their clocks say.
 */
export async function readTimeline(redis: RedisClient, correlationId: string, maxSteps: number): Promise<Timeline | undefined> {
  const { lines, omitted: marked } = await storedLines(redis, correlationId);
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
