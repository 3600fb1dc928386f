/**
 * The job steps' fast path (`JobStepForm`, `TimelineRecorder.recordJobStep`: the bytes of a
 * queue's `job.started` / `job.completed` made once) writes exactly what the plain path
 * (`encodeStep`, `record`) writes for the same step, and stores the same values.
 */
import { describe, expect, it } from 'vitest';
import {
  EncodedBytes,
  JobStepForm,
  TimelineRecorder,
  encodeStep,
  readTimeline,
  timelineBucketKey,
  timelineBucketStartMs,
  timelineBucketWidthMs,
  timelineStepsField,
} from '@event-infra/shared';
import { silentLogger, uniqueName } from '@event-infra/testing';
import { seededRandom } from './support/seeded-random';
import { timelineMaster } from './support/timeline-master';

const logger = silentLogger();
const RETENTION_SEC = 60;
const master = timelineMaster();

/** A random string: mostly id-like, else of characters JSON escapes or UTF-8 writes in several bytes (lone surrogates included). */
function randomText(random: () => number): string {
  const alphabet = ['a', 'Z', '0', '-', ':', ' ', '"', '\\', '\n', '\u0000', '\u001f', 'é', '€', '中', '😀', '\ud800', '\udfff'];
  const length = random() < 0.05 ? Math.floor(random() * 1_200) : Math.floor(random() * 12);
  return Array.from({ length }, () => alphabet[Math.floor(random() * (random() < 0.7 ? 5 : alphabet.length))]).join('');
}

/** Small, int32-edge, ms-time, large safe, unsafe and non-integer numbers (the int32 and the split ms-time digit paths, and String's). */
const NUMBERS = [0, 1, 3, 42, 1_733_000_000_123, 999_999_999, 1e9, 2 ** 31 - 1, 2 ** 31, 1_733_000_000_007, Number.MAX_SAFE_INTEGER, -7, 1.5, -0, 2 ** 60, 1e21, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY];

describe('JobStepForm (a job step written from bytes made once per queue)', () => {
  it('writes the bytes encodeStep writes for the same step, whatever the job id, cause, time, numbers, queue and service', () => {
    const random = seededRandom(1517);
    let fast = 0;
    let plain = 0;
    for (let round = 0; round < 3_000; round += 1) {
      const kind = random() < 0.5 ? 'job.started' : 'job.completed';
      const [firstKey, secondKey] = kind === 'job.started' ? ['attempt', 'maxAttempts'] : ['attempt', 'durationMs'];
      const queue = random() < 0.85 ? `queue-${round % 7}` : randomText(random);
      const service = random() < 0.85 ? 'queue-processor' : randomText(random);
      const form = new JobStepForm(kind, queue, firstKey!, secondKey!, JSON.stringify(service));
      const jobId = random() < 0.5 ? String(round * 13) : randomText(random);
      const cause = random() < 0.3 ? undefined : random() < 0.5 ? `evt-${round}` : randomText(random);
      const first = NUMBERS[Math.floor(random() * (random() < 0.7 ? 4 : NUMBERS.length))]!;
      const second = NUMBERS[Math.floor(random() * NUMBERS.length)]!;
      const atMs = random() < 0.9 ? 1_733_000_000_000 + round : [0, 5, 1.25, -1][round % 4]!;
      const step = form.input(jobId, cause, first, second, atMs);
      const expected = new EncodedBytes();
      expected.add(encodeStep(step, JSON.stringify(service), atMs, step.detail));
      if (!form.fits(first, second)) {
        // Only a queue name JSON escapes keeps a form off its fast path (numbers of every kind fit).
        expect(JSON.stringify(`job:${queue}:`)).not.toBe(`"job:${queue}:"`);
        plain += 1;
        continue;
      }
      const written = new EncodedBytes(16);
      written.beginArg();
      form.write(written, jobId, cause, atMs, first, second);
      written.endArg();
      expect(written.view().toString('utf8'), `round ${round}`).toBe(expected.view().toString('utf8'));
      expect(written.view().equals(expected.view()), `round ${round}`).toBe(true);
      fast += 1;
    }
    // Both paths ran: the fast one for nearly all, the plain one for the escaped queue names.
    expect(fast).toBeGreaterThan(2_500);
    expect(plain).toBeGreaterThan(0);
  });

  it('is refused for keys JSON would not write as they are, or write first', () => {
    expect(() => new JobStepForm('job.started', 'q', 'a"b', 'maxAttempts', '"s"')).toThrow(RangeError);
    expect(() => new JobStepForm('job.started', 'q', 'attempt', '10', '"s"')).toThrow(RangeError);
    expect(() => new JobStepForm('job.started', 'q', 'attempt', 'attempt', '"s"')).toThrow(RangeError);
  });

  it('stores through recordJobStep what record stores for the same steps (joined entries, escapes, a value off the fast path, look-ups of other steps between)', async () => {
    const nowMs = Date.now();
    master.recorder = new TimelineRecorder({ service: 'queue-processor', retentionSec: RETENTION_SEC, maxSteps: 100 }, { redis: master.redis, logger, clock: () => nowMs });
    const recorder = master.recorder;
    const started = recorder.jobStepForm('job.started', 'event-driven-jobs', 'attempt', 'maxAttempts');
    const completed = recorder.jobStepForm('job.completed', 'event-driven-jobs', 'attempt', 'durationMs');
    const fast = uniqueName('fast');
    const plain = uniqueName('plain');
    const jobs: Array<[string, string | undefined, number, number, number]> = [
      ['17', 'evt-1', 1, 3, 12],
      ['evt-workspace-welcome-"é"\n', undefined, 2, 3, 0],
      // `'3' as unknown as number`: a maxAttempts that is not a number at run time takes the plain path.
      ['19', 'cause with "quotes"', 1, '3' as unknown as number, 1.5],
    ];
    let at = nowMs;
    for (const [jobId, cause, attempt, maxAttempts, durationMs] of jobs) {
      recorder.recordJobStep(fast, started, jobId, cause, attempt, maxAttempts, (at += 1));
      recorder.recordJobStep(fast, completed, jobId, cause, attempt, durationMs, (at += 1));
    }
    at = nowMs;
    for (const [jobId, cause, attempt, maxAttempts, durationMs] of jobs) {
      recorder.record(plain, started.input(jobId, cause, attempt, maxAttempts, (at += 1)));
      recorder.record(plain, completed.input(jobId, cause, attempt, durationMs, (at += 1)));
    }
    // A step of another correlation between a job's start and its end: two entries, as on the plain path.
    recorder.recordJobStep(fast, started, '20', undefined, 1, 1, (at += 1));
    recorder.record(uniqueName('other'), { kind: 'job.created', subject: 'job:q:1' }, { job: 'q:1' });
    recorder.recordJobStep(fast, completed, '20', undefined, 1, 4, (at += 1));
    recorder.record(plain, started.input('20', undefined, 1, 1, at - 1));
    recorder.record(uniqueName('other'), { kind: 'job.created', subject: 'job:q:1' }, { job: 'q:1' });
    recorder.record(plain, completed.input('20', undefined, 1, 4, at));
    await recorder.flush();
    expect(recorder.dropped).toBe(0);

    const widthMs = timelineBucketWidthMs(RETENTION_SEC);
    const bucket = timelineBucketKey(timelineBucketStartMs(nowMs, widthMs), widthMs);
    const [fastValue, plainValue] = await master.redis.hmget(bucket, timelineStepsField(fast), timelineStepsField(plain));
    expect(fastValue).toBe(plainValue);
    expect(fastValue?.split('\n')[0]).toBe('8');
    const timeline = (await readTimeline(master.redis, fast, 100))!;
    expect(timeline.steps.map((step) => [step.kind, step.subject, step.cause ?? null, step.detail])).toEqual([
      ['job.started', 'job:event-driven-jobs:17', 'evt-1', { attempt: 1, maxAttempts: 3 }],
      ['job.completed', 'job:event-driven-jobs:17', 'evt-1', { attempt: 1, durationMs: 12 }],
      ['job.started', 'job:event-driven-jobs:evt-workspace-welcome-"é"\n', null, { attempt: 2, maxAttempts: 3 }],
      ['job.completed', 'job:event-driven-jobs:evt-workspace-welcome-"é"\n', null, { attempt: 2, durationMs: 0 }],
      ['job.started', 'job:event-driven-jobs:19', 'cause with "quotes"', { attempt: 1, maxAttempts: '3' }],
      ['job.completed', 'job:event-driven-jobs:19', 'cause with "quotes"', { attempt: 1, durationMs: 1.5 }],
      ['job.started', 'job:event-driven-jobs:20', null, { attempt: 1, maxAttempts: 1 }],
      ['job.completed', 'job:event-driven-jobs:20', null, { attempt: 1, durationMs: 4 }],
    ]);
  });
});
