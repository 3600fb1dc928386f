/**
 * The recorder joins steps of one correlation that come one after the other (a job's start and
 * its end) into one entry of its script call: what is stored and read back is the same as for
 * the same steps sent as entries of their own (docs/benchmarks/timeline-cost.md).
 */
import { describe, expect, it } from 'vitest';
import {
  TimelineRecorder,
  readTimeline,
  timelineBucketKey,
  timelineBucketStartMs,
  timelineBucketWidthMs,
  timelineStepsField,
  type TimelineStepInput,
} from '@event-infra/shared';
import { silentLogger, uniqueName } from '@event-infra/testing';
import { timelineMaster } from './support/timeline-master';

const logger = silentLogger();
const RETENTION_SEC = 60;
const master = timelineMaster();

/** The raw value of `correlation`'s field in the bucket of `nowMs`. */
async function storedValue(nowMs: number, correlation: string): Promise<string | null> {
  const widthMs = timelineBucketWidthMs(RETENTION_SEC);
  return master.redis.hget(timelineBucketKey(timelineBucketStartMs(nowMs, widthMs), widthMs), timelineStepsField(correlation));
}

const started = (job: string, atMs: number): TimelineStepInput => ({ kind: 'job.started', subject: `job:q:${job}`, cause: 'e1', detail: { attempt: 1, maxAttempts: 3 }, atMs });
const completed = (job: string, atMs: number, extra = ''): TimelineStepInput => ({ kind: 'job.completed', subject: `job:q:${job}`, cause: 'e1', detail: { attempt: 1, durationMs: 4, extra }, atMs });

describe('TimelineRecorder: one entry per run of a correlation', () => {
  it('stores a started+completed pair sent in one call as two steps in order, as two separate entries would be', async () => {
    const nowMs = Date.now();
    master.recorder = new TimelineRecorder({ service: 'test', retentionSec: RETENTION_SEC, maxSteps: 100 }, { redis: master.redis, logger, clock: () => nowMs });
    const joined = uniqueName('joined');
    const apart = uniqueName('apart');
    const other = uniqueName('other');
    // `joined`: its two steps one after the other (one entry); `apart`: another correlation's
    // step between them (two entries); then a second pair whose end crosses 999 bytes (the
    // entry's length header grows a digit when the end joins it).
    master.recorder.record(joined, started('1', nowMs));
    master.recorder.record(joined, completed('1', nowMs + 1));
    master.recorder.record(apart, started('1', nowMs));
    master.recorder.record(other, started('2', nowMs));
    master.recorder.record(apart, completed('1', nowMs + 1));
    master.recorder.record(joined, started('3', nowMs + 2));
    master.recorder.record(joined, completed('3', nowMs + 3, 'x'.repeat(1_000)));
    master.recorder.record(apart, started('3', nowMs + 2));
    master.recorder.record(other, started('4', nowMs));
    master.recorder.record(apart, completed('3', nowMs + 3, 'x'.repeat(1_000)));
    await master.recorder.flush();
    expect(master.recorder.dropped).toBe(0);

    const timeline = (await readTimeline(master.redis, joined, 100))!;
    expect(timeline.steps.map((step) => [step.kind, step.subject, step.cause ?? null, step.seq])).toEqual([
      ['job.started', 'job:q:1', 'e1', 1],
      ['job.completed', 'job:q:1', 'e1', 2],
      ['job.started', 'job:q:3', 'e1', 3],
      ['job.completed', 'job:q:3', 'e1', 4],
    ]);
    expect(timeline.totalSteps).toBe(4);
    expect(timeline.omittedSteps).toBe(0);
    expect(timeline.steps[3]?.detail?.extra).toBe('x'.repeat(1_000));
    const value = (await storedValue(nowMs, joined))!;
    expect(value.split('\n')).toHaveLength(5);
    expect(value.startsWith('4\n["job.started","job:q:1",')).toBe(true);
    // The same bytes as the steps sent as entries of their own.
    expect(value).toBe(await storedValue(nowMs, apart));
  });

  it('counts a long run of one correlation right across entries and flushes, compaction included', async () => {
    const nowMs = Date.now();
    master.recorder = new TimelineRecorder({ service: 'test', retentionSec: RETENTION_SEC, maxSteps: 6 }, { redis: master.redis, logger, clock: () => nowMs });
    const correlation = uniqueName('run');
    let index = 0;
    for (const run of [1, 2, 9, 10, 19, 1]) {
      for (let step = 0; step < run; step += 1) {
        index += 1;
        master.recorder.record(correlation, { kind: 'job.progress', subject: 'job:q:1', detail: { index }, atMs: nowMs + index });
      }
      await master.recorder.flush();
      const timeline = (await readTimeline(master.redis, correlation, 6))!;
      const expected = index <= 6 ? Array.from({ length: index }, (_, at) => at + 1) : [1, 2, 3, index - 2, index - 1, index];
      expect(timeline.steps.map((step) => step.detail?.index), `after ${index}`).toEqual(expected);
      expect(timeline.totalSteps).toBe(index);
    }
  });
});
