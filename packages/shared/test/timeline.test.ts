/**
 * The timeline store against a real redis-server: steps come back in order, a correlation
 * with more than TIMELINE_MAX_STEPS keeps the first and last halves and counts the rest,
 * retention is set on every key, a restarted script cache is survived, and the id look-ups
 * resolve to the correlation.
 */
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import {
  REDIS_ROLES,
  TimelineRecorder,
  closeRedis,
  createRedis,
  readTimeline,
  resolveCorrelation,
  timelineKeys,
  waitForRedis,
  type Redis,
} from '@event-infra/shared';
import { silentLogger, uniqueName } from '@event-infra/testing';

const logger = silentLogger();
let redis: Redis;
let recorder: TimelineRecorder | undefined;

beforeEach(async () => {
  redis = createRedis({ url: inject('redis').master, role: REDIS_ROLES.master, profile: 'producer', logger, connectTimeoutMs: 1_000 });
  await waitForRedis(redis, REDIS_ROLES.master, 5_000);
});

afterEach(async () => {
  await recorder?.close();
  recorder = undefined;
  await closeRedis(redis);
});

const make = (maxSteps: number, retentionSec = 60) => new TimelineRecorder({ service: 'test', retentionSec, maxSteps }, { redis, logger });

describe('TimelineRecorder and readTimeline', () => {
  it('keeps the steps of one correlation in order, with their causes and look-ups', async () => {
    recorder = make(100);
    const correlation = uniqueName('corr');
    recorder.record(correlation, { kind: 'event.published', subject: 'e1' }, { eventId: `e1-${correlation}` });
    recorder.record(correlation, { kind: 'job.created', subject: 'job:q:1', cause: 'e1' }, { job: `q:1-${correlation}` });
    recorder.record(correlation, { kind: 'job.started', subject: 'job:q:1', cause: 'e1', detail: { attempt: 1, error: 'x'.repeat(5000) } });
    await recorder.flush();
    const timeline = await readTimeline(redis, correlation);
    expect(timeline?.steps.map((step) => [step.kind, step.subject, step.cause ?? null])).toEqual([
      ['event.published', 'e1', null],
      ['job.created', 'job:q:1', 'e1'],
      ['job.started', 'job:q:1', 'e1'],
    ]);
    expect(timeline?.steps.map((step) => step.seq)).toEqual([1, 2, 3]);
    expect(String(timeline?.steps[2]?.detail?.error).length).toBeLessThanOrEqual(1025);
    expect(await resolveCorrelation(redis, { eventId: `e1-${correlation}` })).toBe(correlation);
    expect(await resolveCorrelation(redis, { queue: 'q', jobId: `1-${correlation}` })).toBe(correlation);
    expect(await resolveCorrelation(redis, { eventId: 'never' })).toBeUndefined();
    expect(await readTimeline(redis, uniqueName('absent'))).toBeUndefined();
  });

  it('bounds a long correlation: first and last halves kept, the rest counted', async () => {
    recorder = make(10);
    const correlation = uniqueName('long');
    for (let index = 1; index <= 250; index += 1) recorder.record(correlation, { kind: 'job.progress', subject: 'job:q:1', detail: { index } });
    await recorder.flush();
    const timeline = (await readTimeline(redis, correlation))!;
    expect(timeline.totalSteps).toBe(250);
    expect(timeline.omittedSteps).toBe(240);
    expect(timeline.steps.map((step) => step.detail?.index)).toEqual([1, 2, 3, 4, 5, 246, 247, 248, 249, 250]);
    const keys = timelineKeys(correlation);
    expect(await redis.llen(keys.head)).toBe(5);
    expect(await redis.llen(keys.tail)).toBe(5);
  });

  it('sets the retention on every key of the timeline', async () => {
    recorder = make(4, 120);
    const correlation = uniqueName('ttl');
    for (let index = 0; index < 6; index += 1) recorder.record(correlation, { kind: 'job.progress', subject: 's' });
    await recorder.flush();
    const keys = timelineKeys(correlation);
    for (const key of [keys.head, keys.tail, keys.meta]) {
      const ttl = await redis.ttl(key);
      expect(ttl, key).toBeGreaterThan(100);
      expect(ttl, key).toBeLessThanOrEqual(120);
    }
  });

  it('writes again after the server lost its script cache', async () => {
    recorder = make(10);
    const correlation = uniqueName('flush');
    recorder.record(correlation, { kind: 'event.published', subject: 'a' });
    await recorder.flush();
    await redis.script('FLUSH');
    recorder.record(correlation, { kind: 'event.handled', subject: 'a' });
    await recorder.flush();
    expect((await readTimeline(redis, correlation))?.steps.map((step) => step.kind)).toEqual(['event.published', 'event.handled']);
    expect(recorder.dropped).toBe(0);
  });

  it('records nothing after close, and close is idempotent', async () => {
    recorder = make(10);
    const correlation = uniqueName('closed');
    recorder.record(correlation, { kind: 'event.published', subject: 'a' });
    const first = recorder.close();
    expect(recorder.close()).toBe(first);
    await first;
    recorder.record(correlation, { kind: 'event.handled', subject: 'a' });
    await recorder.flush();
    expect((await readTimeline(redis, correlation))?.steps).toHaveLength(1);
  });
});
