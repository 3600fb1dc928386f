/**
 * The DLQ handler's decisions, called directly on real parts: its own master redis-server,
 * the shared queue Redis (origin queues and the scheduled-retry queue, whose delayed jobs
 * are read back), the real policy, sender, alerter and metrics. No retry worker or consumer
 * runs, so each case decides when the next step happens. The end-to-end files cover the
 * same paths through the queues; these pin each guard and field where it is set.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue } from 'bullmq';
import { AUDIT_STREAM, BULL_PREFIX, type AuditActor, type Redis } from '@event-infra/shared';
import { uniqueName } from '@event-infra/testing';
import { MalformedEntryError, type DlqHandler } from '../src/core/dlq-handler';
import type { DlqStore } from '../src/core/dlq-store';
import { EntryConflictError } from '../src/core/entry-state';
import type { RetryQueue } from '../src/core/retry-scheduler';
import { HISTORY_LIMIT, dlqKeys, type StoredEntry } from '../src/core/stored-entry';
import { jobEntry } from './support/dlq-harness';
import { startHandlerParts, type HandlerParts } from './support/handler-parts';

const BASE_DELAY_MS = 60_000;
const MAX_RETRIES = 2;

describe('DLQ handler decisions', () => {
  let parts: HandlerParts;
  let redis: Redis;
  let queueRedis: Redis;
  let store: DlqStore;
  let handler: DlqHandler;
  let retries: RetryQueue;
  const actor: AuditActor = { principal: 'ops', role: 'operator', kind: 'human', requestId: 'req-1', address: '127.0.0.1' };

  beforeAll(async () => {
    parts = await startHandlerParts({ maxRetries: MAX_RETRIES, baseDelayMs: BASE_DELAY_MS, maxDelayMs: 10 * BASE_DELAY_MS });
    ({ redis, queueRedis, store, handler, retries } = parts);
  });

  afterAll(async () => {
    await parts.close();
  });

  const originQueue = (): Queue => parts.originQueue('handler-origin');

  const transient = { message: 'upstream unavailable', code: 'ECONNREFUSED' };
  const permanent = { message: 'bad input', permanent: true };
  const scheduledRetry = (entryId: string, retry: number) => retries.queue.getJob(`${entryId}-r${retry}`.replaceAll(':', '_'));
  const state = (id: string) => store.state(id);
  const metric = (name: string, labels: string): Promise<number> => parts.metric(name, labels);

  /** A first transient failure handled, then its retry 1 started by the scheduler's job. */
  async function retriedEntry(queue: Queue, jobId: string): Promise<{ entry: StoredEntry; token: string }> {
    const first = await handler.handle(jobEntry(queue.name, jobId, transient), `src-${jobId}`);
    await handler.autoRetry(first.id, 1);
    const read = await store.read(first.id);
    expect(read?.state.status).toBe('retried');
    return { entry: read!.entry, token: read!.state.token };
  }

  it('refuses a job that is not a dead-letter entry, naming the DLQ job and the first problem', async () => {
    const error = await handler.handle({ kind: 'job' }, 'dlq-job-7').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(MalformedEntryError);
    expect((error as Error).name).toBe('MalformedEntryError');
    expect((error as Error).message).toMatch(/^DLQ job dlq-job-7 is not a dead-letter entry: \S/);
  });

  it('a first transient failure is scheduled: retry 1 after the base delay, one history item, no park fields', async () => {
    const queue = originQueue();
    const before = Date.now();
    const entry = await handler.handle(jobEntry(queue.name, 't-1', transient), 'src-t-1');
    expect(entry).toMatchObject({ id: 'src-t-1', status: 'scheduled', retries: 0, failures: 1, classification: 'transient', originName: queue.name, lastSource: 'src-t-1', version: 1 });
    expect(entry).not.toHaveProperty('parkReason');
    expect(entry).not.toHaveProperty('parkedAt');
    const due = Date.parse(entry.nextRetryAt!);
    expect(due).toBeGreaterThanOrEqual(before + BASE_DELAY_MS);
    expect(due).toBeLessThanOrEqual(Date.now() + BASE_DELAY_MS);
    expect(entry.history).toEqual([expect.objectContaining({ source: 'src-t-1', retries: 0, classification: 'transient', error: expect.not.objectContaining({ stack: expect.anything() }) })]);
    const job = await scheduledRetry(entry.id, 1);
    expect(job?.data).toEqual({ entryId: entry.id, retry: 1 });
    expect(job?.opts.delay).toBe(BASE_DELAY_MS);
    expect(await store.get(entry.id)).toEqual(entry);
  });

  it('a permanent failure is parked at once with its reason and joins its origin alert bucket', async () => {
    const queue = originQueue();
    const entry = await handler.handle(jobEntry(queue.name, 'p-1', permanent), 'src-p-1');
    expect(entry).toMatchObject({ status: 'parked', parkReason: 'permanent', classification: 'permanent' });
    expect(entry).not.toHaveProperty('nextRetryAt');
    expect(Date.parse(entry.parkedAt!)).toBeGreaterThan(0);
    expect(entry.updatedAt).toBe(entry.parkedAt);
    expect(await scheduledRetry(entry.id, 1)).toBeUndefined();
    expect(await redis.hget(dlqKeys.alertBucket(`job:${queue.name}`), 'count')).toBe('1');
    expect(await redis.lrange(dlqKeys.alertBucketIds(`job:${queue.name}`), 0, -1)).toEqual([entry.id]);
  });

  it('a redelivered DLQ job (handled before a crash) changes nothing, and a scheduled entry gets its retry job again', async () => {
    const queue = originQueue();
    const entry = await handler.handle(jobEntry(queue.name, 'r-1', transient), 'src-r-1');
    // The crash came between the transition and the schedule: the retry job is missing.
    await (await scheduledRetry(entry.id, 1))!.remove();
    const again = await handler.handle(jobEntry(queue.name, 'r-1', transient), 'src-r-1');
    expect(again).toEqual(entry);
    expect((await store.get(entry.id))?.failures).toBe(1);
    const job = await scheduledRetry(entry.id, 1);
    expect(job?.data).toEqual({ entryId: entry.id, retry: 1 });
    expect(job?.opts.delay ?? 0).toBe(0);

    const parked = await handler.handle(jobEntry(queue.name, 'r-2', permanent), 'src-r-2');
    expect(await handler.handle(jobEntry(queue.name, 'r-2', permanent), 'src-r-2')).toEqual(parked);
    expect(await scheduledRetry(parked.id, 1)).toBeUndefined();
  });

  it('the scheduled retry sends the job back under its unpredictable id, tracked; a second run of the same retry is skipped', async () => {
    const queue = originQueue();
    const { entry, token } = await retriedEntry(queue, 'a-1');
    expect(entry).toMatchObject({ status: 'retried', retries: 1, retriedTo: { kind: 'job', queue: queue.name } });
    expect(entry).not.toHaveProperty('nextRetryAt');
    expect(entry.updatedAt).toBe(entry.retriedAt);
    const jobId = entry.retriedTo?.kind === 'job' ? entry.retriedTo.jobId : '';
    expect(jobId).not.toContain('a-1-r1');
    expect(await store.trackedEntry(queue.name, jobId)).toBe(entry.id);
    expect((await queue.getJob(jobId))?.data.__dlq).toEqual({ entryId: entry.id, retries: 1, token });
    // The scheduler's job runs again (redelivered): same retry, already sent, sent again under the same id.
    await handler.autoRetry(entry.id, 1);
    expect(await queue.getJobCountByTypes('waiting', 'delayed', 'active')).toBe(1);
    // An older retry number, or an entry that moved on: nothing happens.
    await handler.autoRetry(entry.id, 0);
    await handler.autoRetry(entry.id, 2);
    expect((await state(entry.id))?.version).toBe(2);
    expect(await queue.getJobCountByTypes('waiting', 'delayed', 'active')).toBe(1);
  });

  it('an automatic retry skips entries not waiting, or already retried that far', async () => {
    const queue = originQueue();
    const parked = await handler.handle(jobEntry(queue.name, 's-1', permanent), 'src-s-1');
    await handler.autoRetry(parked.id, 1);
    expect(await state(parked.id)).toMatchObject({ status: 'parked', version: 1 });
    await handler.autoRetry('no-such-entry', 1);
    const scheduled = await handler.handle(jobEntry(queue.name, 's-2', transient), 'src-s-2');
    await handler.autoRetry(scheduled.id, 0);
    expect(await state(scheduled.id)).toMatchObject({ status: 'scheduled', version: 1 });
    expect(await queue.getJobCountByTypes('waiting', 'delayed', 'active')).toBe(0);
  });

  it('a scheduled entry that cannot be sent back (no object data) is parked retry_failed instead', async () => {
    const queue = originQueue();
    const entry = await handler.handle(jobEntry(queue.name, 'n-1', transient, { data: 'not an object' as never }), 'src-n-1');
    await handler.autoRetry(entry.id, 1);
    expect(await store.get(entry.id)).toMatchObject({ status: 'parked', parkReason: 'retry_failed', retries: 0 });
    expect(await queue.getJobCountByTypes('waiting', 'delayed', 'active')).toBe(0);
  });

  it('a retry failing again with the entry token updates the same entry and schedules the next retry, untracked', async () => {
    const queue = originQueue();
    const { entry, token } = await retriedEntry(queue, 'f-1');
    const jobId = entry.retriedTo?.kind === 'job' ? entry.retriedTo.jobId : '';
    const failure = jobEntry(queue.name, jobId, transient, { dlqEntryId: entry.id, dlqToken: token, dlqRetries: 1 });
    const updated = await handler.handle(failure, 'src-f-1-again');
    expect(updated).toMatchObject({ id: entry.id, status: 'scheduled', retries: 1, failures: 2, lastSource: 'src-f-1-again' });
    expect(updated.history.map((item) => [item.source, item.retries])).toEqual([
      ['src-f-1', 0],
      ['src-f-1-again', 1],
    ]);
    expect(updated.createdAt).toBe(entry.createdAt);
    expect(await store.trackedEntry(queue.name, jobId)).toBeUndefined();
    expect((await scheduledRetry(entry.id, 2))?.opts.delay).toBe(2 * BASE_DELAY_MS);
    // The same report again: a duplicate, nothing changes.
    expect(await handler.handle(failure, 'src-f-1-again')).toMatchObject({ version: updated.version, failures: 2 });
    // A late copy of the first report (its source is in the history): a duplicate too.
    expect(await handler.handle({ ...failure, dlqToken: 'stale' }, 'src-f-1')).toMatchObject({ version: updated.version, failures: 2 });
  });

  it('out of retries, the failure parks (retries_exhausted); a parked entry that fails again is parked, not scheduled', async () => {
    const queue = originQueue();
    const { entry, token } = await retriedEntry(queue, 'x-1');
    const jobId = entry.retriedTo?.kind === 'job' ? entry.retriedTo.jobId : '';
    await handler.handle(jobEntry(queue.name, jobId, transient, { dlqEntryId: entry.id, dlqToken: token, dlqRetries: 1 }), 'src-x-1-b');
    await handler.autoRetry(entry.id, 2);
    const read = await store.read(entry.id);
    const second = read!.entry.retriedTo?.kind === 'job' ? read!.entry.retriedTo.jobId : '';
    const last = await handler.handle(jobEntry(queue.name, second, transient, { dlqEntryId: entry.id, dlqToken: read!.state.token, dlqRetries: 2 }), 'src-x-1-c');
    expect(last).toMatchObject({ status: 'parked', parkReason: 'retries_exhausted', retries: MAX_RETRIES, failures: 3 });
    expect(await store.trackedEntry(queue.name, second)).toBeUndefined();
    expect(await scheduledRetry(entry.id, 3)).toBeUndefined();
  });

  it('a failure claiming an entry with a wrong, missing or stale token becomes an entry of its own with no retries', async () => {
    const queue = originQueue();
    const { entry, token } = await retriedEntry(queue, 'c-1');
    const before = await metric('dlq_unverified_claims_total', 'kind="failure"');
    for (const [index, claim] of [{ dlqToken: 'f'.repeat(32) }, {}, { dlqToken: '' }].entries()) {
      const own = await handler.handle(jobEntry(queue.name, `c-1-forged-${index}`, transient, { dlqEntryId: entry.id, dlqRetries: 5, ...claim }), `src-c-1-forged-${index}`);
      expect(own).toMatchObject({ id: `src-c-1-forged-${index}`, retries: 0, failures: 1, status: 'scheduled' });
    }
    expect(await metric('dlq_unverified_claims_total', 'kind="failure"')).toBe(before + 3);
    expect(await state(entry.id)).toMatchObject({ status: 'retried', version: 2, token });
    // A claim on a parked entry, even with its token: the entry is not waiting for a retry.
    const parked = await handler.handle(jobEntry(queue.name, 'c-2', permanent), 'src-c-2');
    const parkedToken = (await state(parked.id))!.token;
    const own = await handler.handle(jobEntry(queue.name, 'c-2-b', permanent, { dlqEntryId: parked.id, dlqToken: parkedToken, dlqRetries: 1 }), 'src-c-2-b');
    expect(own.id).toBe('src-c-2-b');
    expect((await store.get(parked.id))?.failures).toBe(1);
  });

  it('keeps the last HISTORY_LIMIT failures of an entry', async () => {
    const queue = originQueue();
    const first = await handler.handle(jobEntry(queue.name, 'h-1', permanent), 'src-h-0');
    for (let index = 1; index <= HISTORY_LIMIT; index += 1) {
      const retried = await handler.manualRetry(first.id);
      const jobId = retried.retriedTo?.kind === 'job' ? retried.retriedTo.jobId : '';
      const token = (await state(first.id))!.token;
      await handler.handle(jobEntry(queue.name, jobId, permanent, { dlqEntryId: first.id, dlqToken: token, dlqRetries: index }), `src-h-${index}`);
    }
    const entry = (await store.get(first.id))!;
    expect(entry.failures).toBe(HISTORY_LIMIT + 1);
    expect(entry.history).toHaveLength(HISTORY_LIMIT);
    expect(entry.history[0]?.source).toBe('src-h-1');
    expect(entry.history.at(-1)?.source).toBe(`src-h-${HISTORY_LIMIT}`);
  });

  it('retryFailed parks a scheduled entry (retry_failed) and leaves any other alone', async () => {
    const queue = originQueue();
    const scheduled = await handler.handle(jobEntry(queue.name, 'rf-1', transient), 'src-rf-1');
    await handler.retryFailed(scheduled.id, new Error('origin down'));
    expect(await store.get(scheduled.id)).toMatchObject({ status: 'parked', parkReason: 'retry_failed' });
    await handler.retryFailed(scheduled.id, new Error('origin down'));
    expect((await state(scheduled.id))?.version).toBe(2);
    await handler.retryFailed('no-such-entry', new Error('x'));
  });

  it('retryLost parks a retried entry only for its own job, once the grace is over, and untracks it', async () => {
    const queue = originQueue();
    const { entry } = await retriedEntry(queue, 'l-1');
    const jobId = entry.retriedTo?.kind === 'job' ? entry.retriedTo.jobId : '';
    expect(await handler.retryLost(entry.id, { queue: queue.name, jobId }, 60_000)).toBe(false);
    expect(await handler.retryLost(entry.id, { queue: queue.name, jobId: 'other' }, 0)).toBe(false);
    expect(await handler.retryLost(entry.id, { queue: 'other-queue', jobId }, 0)).toBe(false);
    expect(await handler.retryLost('no-such-entry', { queue: queue.name, jobId }, 0)).toBe(false);
    expect(await state(entry.id)).toMatchObject({ status: 'retried', version: 2 });
    expect(await handler.retryLost(entry.id, { queue: queue.name, jobId }, 0)).toBe(true);
    expect(await store.get(entry.id)).toMatchObject({ status: 'parked', parkReason: 'retry_failed', retries: 1 });
    expect(await store.trackedEntry(queue.name, jobId)).toBeUndefined();
    expect(await handler.retryLost(entry.id, { queue: queue.name, jobId }, 0)).toBe(false);
  });

  it('markRecovered believes only the retry job itself, marks the entry recovered and untracks it', async () => {
    const queue = originQueue();
    const { entry } = await retriedEntry(queue, 'm-1');
    const jobId = entry.retriedTo?.kind === 'job' ? entry.retriedTo.jobId : '';
    const before = await metric('dlq_unverified_claims_total', 'kind="recovery"');
    expect(await handler.markRecovered(entry.id, { kind: 'job', queue: queue.name, jobId: 'a-guess' }, 'test')).toBe(false);
    expect(await handler.markRecovered(entry.id, { kind: 'job', queue: 'other', jobId }, 'test')).toBe(false);
    expect(await handler.markRecovered(entry.id, { kind: 'event', group: 'g', token: (await state(entry.id))!.token }, 'test')).toBe(false);
    expect(await metric('dlq_unverified_claims_total', 'kind="recovery"')).toBe(before + 3);
    const recoveredBefore = await metric('dlq_recovered_total', 'kind="job"');
    expect(await handler.markRecovered(entry.id, { kind: 'job', queue: queue.name, jobId }, 'test')).toBe(true);
    const recovered = (await store.get(entry.id))!;
    expect(recovered).toMatchObject({ status: 'recovered' });
    expect(recovered).not.toHaveProperty('nextRetryAt');
    expect(recovered.updatedAt).toBe(recovered.recoveredAt);
    expect(await store.trackedEntry(queue.name, jobId)).toBeUndefined();
    expect(await metric('dlq_recovered_total', 'kind="job"')).toBe(recoveredBefore + 1);
    expect(await handler.markRecovered(entry.id, { kind: 'job', queue: queue.name, jobId }, 'test')).toBe(false);
    expect(await handler.markRecovered('no-such-entry', { kind: 'job', queue: queue.name, jobId }, 'test')).toBe(false);
  });

  it('manualRetry: 404 for an unknown entry, 409 naming the state for one not parked, and an audit record in the transition', async () => {
    const queue = originQueue();
    await expect(handler.manualRetry('no-such-entry')).rejects.toMatchObject({ code: 'not_found', message: 'no DLQ entry no-such-entry' });
    const scheduled = await handler.handle(jobEntry(queue.name, 'mr-1', transient), 'src-mr-1');
    const conflict = await handler.manualRetry(scheduled.id).catch((caught: unknown) => caught);
    expect(conflict).toBeInstanceOf(EntryConflictError);
    expect(conflict).toMatchObject({ details: { status: 'scheduled', version: 1 } });
    const parked = await handler.handle(jobEntry(queue.name, 'mr-2', permanent), 'src-mr-2');
    const auditBefore = await redis.xlen(AUDIT_STREAM);
    const retried = await handler.manualRetry(parked.id, actor);
    expect(retried).toMatchObject({ status: 'retried', retries: 1 });
    const records = await redis.xrange(AUDIT_STREAM, '-', '+');
    expect(records.length).toBe(auditBefore + 1);
    expect(records.at(-1)?.[1].join(' ')).toContain(parked.id);
    expect(await metric('dlq_retried_total', 'mode="manual"')).toBeGreaterThanOrEqual(1);
  });

  it('retryMatching sends back parked entries of the filter only, and reports each one that cannot go', async () => {
    const queue = originQueue();
    const good = await handler.handle(jobEntry(queue.name, 'b-1', permanent), 'src-b-1');
    const bad = await handler.handle(jobEntry(queue.name, 'b-2', permanent, { data: [1, 2] as never }), 'src-b-2');
    const waiting = await handler.handle(jobEntry(queue.name, 'b-3', transient), 'src-b-3');
    const result = await handler.retryMatching({ origin: queue.name }, 10);
    expect(result).toMatchObject({ matched: 2, retried: 1, ids: [good.id] });
    expect(result.failed).toEqual([{ id: bad.id, error: expect.stringContaining('no object job data') }]);
    expect((await state(waiting.id))?.status).toBe('scheduled');
    expect((await state(good.id))?.status).toBe('retried');
    const limited = await handler.retryMatching({ origin: queue.name }, 0);
    expect(limited).toMatchObject({ matched: 1, retried: 0, ids: [], failed: [] });
  });

  it('discard: 404 unknown; a retried entry is removed and its retry job no longer tracked', async () => {
    const queue = originQueue();
    await expect(handler.discard('no-such-entry')).rejects.toMatchObject({ code: 'not_found' });
    const { entry } = await retriedEntry(queue, 'd-1');
    const jobId = entry.retriedTo?.kind === 'job' ? entry.retriedTo.jobId : '';
    await handler.discard(entry.id, actor);
    expect(await store.get(entry.id)).toBeUndefined();
    expect((await state(entry.id))?.status).toBe('discarded');
    expect(await store.trackedEntry(queue.name, jobId)).toBeUndefined();
    await expect(handler.discard(entry.id)).rejects.toMatchObject({ code: 'not_found' });
  });

  it('a send that fails puts the entry back where it was: a parked one parked, a scheduled one scheduled', async () => {
    const queue = originQueue();
    const parked = await handler.handle(jobEntry(queue.name, 'u-1', permanent), 'src-u-1');
    // The origin queue refuses the add: its wait list is a key of another type.
    const brokenQueue = `${queue.name}-broken`;
    await queueRedis.set(`${BULL_PREFIX}:${brokenQueue}:wait`, 'a string where a list belongs');
    const entry = await handler.handle(jobEntry(brokenQueue, 'u-2', permanent), 'src-u-2');
    await expect(handler.manualRetry(entry.id)).rejects.toThrow();
    const after = (await store.read(entry.id))!;
    expect(after.entry).toMatchObject({ status: 'parked', retries: 0 });
    expect(after.state.status).toBe('parked');
    expect(await store.tracked()).not.toContainEqual(expect.objectContaining({ entryId: entry.id }));
    expect(await state(parked.id)).toMatchObject({ status: 'parked', version: 1 });
    await queueRedis.del(`${BULL_PREFIX}:${brokenQueue}:wait`);
  });
});
