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
  timelineKey,
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
    const timeline = await readTimeline(redis, correlation, recorder.maxSteps);
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
    expect(await readTimeline(redis, uniqueName('absent'), 100)).toBeUndefined();
  });

  it('bounds a long correlation: first and last halves kept, the rest counted', async () => {
    recorder = make(10);
    const correlation = uniqueName('long');
    for (let index = 1; index <= 250; index += 1) recorder.record(correlation, { kind: 'job.progress', subject: 'job:q:1', detail: { index } });
    await recorder.flush();
    const timeline = (await readTimeline(redis, correlation, recorder.maxSteps))!;
    expect(timeline.totalSteps).toBe(250);
    expect(timeline.omittedSteps).toBe(240);
    expect(timeline.steps.map((step) => step.detail?.index)).toEqual([1, 2, 3, 4, 5, 246, 247, 248, 249, 250]);
    expect(timeline.steps.map((step) => step.seq)).toEqual([1, 2, 3, 4, 5, 246, 247, 248, 249, 250]);
    // Stored: the head, one marker, at most twice the tail (compaction is amortised).
    expect(await redis.llen(timelineKey(correlation))).toBeLessThanOrEqual(5 + 1 + 10);
  });

  it('keeps the bound over many flushes, whatever the tail holds when it is read', async () => {
    recorder = make(6);
    const correlation = uniqueName('flushes');
    for (let index = 1; index <= 40; index += 1) {
      recorder.record(correlation, { kind: 'job.progress', subject: 'job:q:1', detail: { index } });
      await recorder.flush();
      const timeline = (await readTimeline(redis, correlation, recorder.maxSteps))!;
      const expected = index <= 6 ? Array.from({ length: index }, (_, i) => i + 1) : [1, 2, 3, index - 2, index - 1, index];
      expect(timeline.steps.map((step) => step.detail?.index), `after ${index}`).toEqual(expected);
      expect(timeline.steps.map((step) => step.seq)).toEqual(expected);
      expect(timeline.totalSteps).toBe(index);
      expect(timeline.omittedSteps).toBe(Math.max(0, index - 6));
      expect(await redis.llen(timelineKey(correlation))).toBeLessThanOrEqual(3 + 1 + 6);
    }
  });

  it('writes a flush of many correlations and look-ups in few script calls', async () => {
    recorder = make(10);
    const prefix = uniqueName('many');
    for (let index = 0; index < 2_500; index += 1) recorder.record(`${prefix}-${index}`, { kind: 'event.handled', subject: `e${index}` }, { eventId: `ev-${prefix}-${index}` });
    await recorder.flush();
    for (const index of [0, 999, 1_000, 2_499]) {
      expect((await readTimeline(redis, `${prefix}-${index}`, 10))?.steps.map((step) => step.subject)).toEqual([`e${index}`]);
      expect(await resolveCorrelation(redis, { eventId: `ev-${prefix}-${index}` })).toBe(`${prefix}-${index}`);
    }
    expect(recorder.dropped).toBe(0);
  });

  it('writes again after the server lost its script cache', async () => {
    recorder = make(10);
    const correlation = uniqueName('flush');
    recorder.record(correlation, { kind: 'event.published', subject: 'a' });
    await recorder.flush();
    await redis.script('FLUSH');
    recorder.record(correlation, { kind: 'event.handled', subject: 'a' });
    await recorder.flush();
    expect((await readTimeline(redis, correlation, recorder.maxSteps))?.steps.map((step) => step.kind)).toEqual(['event.published', 'event.handled']);
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
    expect((await readTimeline(redis, correlation, recorder.maxSteps))?.steps).toHaveLength(1);
  });
});
