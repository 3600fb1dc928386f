/**
 * The timeline store against a real redis-server: steps come back in order, a correlation
 * with more than TIMELINE_MAX_STEPS keeps the first and last halves and counts the rest (in one
 * bucket and over many), a flush creates no key per correlation, retention is set on the
 * bucket and its registry, a restarted script cache is survived, and the id look-ups resolve
 * to the correlation.
 */
import type { Command } from 'ioredis';
import { describe, expect, inject, it } from 'vitest';
import {
  REDIS_ROLES,
  TimelineRecorder,
  closeRedis,
  createRedis,
  readTimeline,
  resolveCorrelation,
  timelineBucketKey,
  timelineBucketStartMs,
  timelineBucketWidthMs,
  timelineBucketsKey,
  timelineHandledField,
  timelineStepsField,
  waitForRedis,
  type HandledBatchRecord,
  type HandledDelivery,
  type Redis,
} from '@event-infra/shared';
import { silentLogger, uniqueName } from '@event-infra/testing';
import { timelineMaster } from './support/timeline-master';

const logger = silentLogger();
const master = timelineMaster();

/** The batch record of `deliveries`, made by `of` as the event processor makes it. */
function batchOf(of: TimelineRecorder, deliveries: readonly HandledDelivery[]): HandledBatchRecord {
  const record = of.handledBatch();
  for (const delivery of deliveries) record.add(delivery.eventId, delivery.entryId, delivery.type, delivery.source, delivery.cause, () => delivery.handlers);
  return record;
}

const make = (maxSteps: number, retentionSec = 60, clock?: () => number) => new TimelineRecorder({ service: 'test', retentionSec, maxSteps }, { redis: master.redis, logger, clock });

/** Lines stored for `correlation` over every bucket it has a field in (steps and markers). */
async function storedLines(client: Redis, correlation: string): Promise<number> {
  let lines = 0;
  for (const bucket of await client.zrangebyscore(timelineBucketsKey(), '-inf', '+inf')) {
    const value = await client.hget(bucket, timelineStepsField(correlation));
    if (value !== null) lines += value.startsWith('[') ? 1 : value.split('\n').length - 1;
  }
  return lines;
}


/** After `count` steps numbered 1…count under a bound of 6: all of them, or the first and last three and the rest counted. */
async function expectFirstAndLastThree(correlation: string, count: number): Promise<void> {
  const timeline = (await readTimeline(master.redis, correlation, master.recorder!.maxSteps))!;
  const expected = count <= 6 ? Array.from({ length: count }, (_, i) => i + 1) : [1, 2, 3, count - 2, count - 1, count];
  expect(timeline.steps.map((step) => step.detail?.index), `after ${count}`).toEqual(expected);
  expect(timeline.steps.map((step) => step.seq)).toEqual(expected);
  expect(timeline.totalSteps).toBe(count);
  expect(timeline.omittedSteps).toBe(Math.max(0, count - 6));
}

/** A database of its own on the shared test Redis (other files' buckets do not count), flushed before and after. */
async function withOwnDatabase(db: number, body: (own: Redis) => Promise<void>): Promise<void> {
  const own = createRedis({ url: `${inject('redis').master}/${db}`, role: REDIS_ROLES.master, profile: 'producer', logger, connectTimeoutMs: 1_000 });
  try {
    await waitForRedis(own, REDIS_ROLES.master, 5_000);
    await own.flushdb();
    await body(own);
  } finally {
    await own.flushdb();
    await closeRedis(own);
  }
}

describe('TimelineRecorder and readTimeline', () => {
  it('keeps the steps of one correlation in order, with their causes and look-ups', async () => {
    master.recorder = make(100);
    const correlation = uniqueName('corr');
    master.recorder.record(correlation, { kind: 'event.published', subject: 'e1' }, { eventId: `e1-${correlation}` });
    master.recorder.record(correlation, { kind: 'job.created', subject: 'job:q:1', cause: 'e1' }, { job: `q:1-${correlation}` });
    master.recorder.record(correlation, { kind: 'job.started', subject: 'job:q:1', cause: 'e1', detail: { attempt: 1, error: 'x'.repeat(5000) } });
    await master.recorder.flush();
    const timeline = await readTimeline(master.redis, correlation, master.recorder.maxSteps);
    expect(timeline?.steps.map((step) => [step.kind, step.subject, step.cause ?? null])).toEqual([
      ['event.published', 'e1', null],
      ['job.created', 'job:q:1', 'e1'],
      ['job.started', 'job:q:1', 'e1'],
    ]);
    expect(timeline?.steps.map((step) => step.seq)).toEqual([1, 2, 3]);
    expect(String(timeline?.steps[2]?.detail?.error).length).toBeLessThanOrEqual(1025);
    expect(await resolveCorrelation(master.redis, { eventId: `e1-${correlation}` })).toBe(correlation);
    expect(await resolveCorrelation(master.redis, { queue: 'q', jobId: `1-${correlation}` })).toBe(correlation);
    expect(await resolveCorrelation(master.redis, { eventId: 'never' })).toBeUndefined();
    expect(await readTimeline(master.redis, uniqueName('absent'), 100)).toBeUndefined();
  });

  it('bounds a long correlation: first and last halves kept, the rest counted', async () => {
    master.recorder = make(10);
    const correlation = uniqueName('long');
    for (let index = 1; index <= 250; index += 1) master.recorder.record(correlation, { kind: 'job.progress', subject: 'job:q:1', detail: { index } });
    await master.recorder.flush();
    const timeline = (await readTimeline(master.redis, correlation, master.recorder.maxSteps))!;
    expect(timeline.totalSteps).toBe(250);
    expect(timeline.omittedSteps).toBe(240);
    expect(timeline.steps.map((step) => step.detail?.index)).toEqual([1, 2, 3, 4, 5, 246, 247, 248, 249, 250]);
    expect(timeline.steps.map((step) => step.seq)).toEqual([1, 2, 3, 4, 5, 246, 247, 248, 249, 250]);
    // Stored: the head, one marker, at most twice the tail (compaction is amortised).
    expect(await storedLines(master.redis, correlation)).toBeLessThanOrEqual(5 + 1 + 10);
  });

  it('keeps the bound over many flushes, whatever the tail holds when it is read', async () => {
    // One bucket throughout (a fixed clock): on a slow machine 40 flushes outlast a 1 s bucket,
    // and the bound below is per bucket (the next test spreads steps over buckets on purpose).
    const nowMs = Date.now();
    master.recorder = make(6, 60, () => nowMs);
    const correlation = uniqueName('flushes');
    for (let index = 1; index <= 40; index += 1) {
      master.recorder.record(correlation, { kind: 'job.progress', subject: 'job:q:1', detail: { index } });
      await master.recorder.flush();
      await expectFirstAndLastThree(correlation, index);
      expect(await storedLines(master.redis, correlation)).toBeLessThanOrEqual(3 + 1 + 6);
    }
  });

  it('keeps the bound over steps spread across buckets, each bucket bounded', async () => {
    const widthMs = timelineBucketWidthMs(60);
    let nowMs = Date.now();
    master.recorder = make(6, 60, () => nowMs);
    const correlation = uniqueName('buckets');
    for (let index = 1; index <= 60; index += 1) {
      master.recorder.record(correlation, { kind: 'job.progress', subject: 'job:q:1', detail: { index } });
      await master.recorder.flush();
      // A new bucket every 14th step: each part outgrows head + marker + twice the tail (10) and is compacted.
      if (index % 14 === 0) nowMs += widthMs;
      await expectFirstAndLastThree(correlation, index);
    }
    // Five buckets, each within head + marker + twice the tail.
    expect(await storedLines(master.redis, correlation)).toBeLessThanOrEqual(5 * (3 + 1 + 6));
    expect(await resolveCorrelation(master.redis, { eventId: uniqueName('never') })).toBeUndefined();
  });

  it('writes a flush of single-step correlations into one bucket: no key per correlation', async () => {
    // A database of its own, so that other test files' buckets do not count.
    await withOwnDatabase(7, async (own) => {
      const nowMs = Date.now();
      master.recorder = new TimelineRecorder({ service: 'test', retentionSec: 60, maxSteps: 10 }, { redis: own, logger, clock: () => nowMs });
      const prefix = uniqueName('keys');
      for (let index = 0; index < 500; index += 1) master.recorder.record(`${prefix}-${index}`, { kind: 'event.handled', subject: `${prefix}-${index}` }, { eventId: `${prefix}-${index}`, job: `q:${index}` });
      await master.recorder.flush();
      // The bucket and the registry, whatever the number of correlations and look-ups.
      expect(await own.dbsize()).toBe(2);
      const widthMs = timelineBucketWidthMs(60);
      const bucket = timelineBucketKey(timelineBucketStartMs(nowMs, widthMs), widthMs);
      expect(await own.hlen(bucket)).toBe(1_000);
      // Retention: the bucket (and the registry) expire retention after the bucket's end.
      const expireAtMs = timelineBucketStartMs(nowMs, widthMs) + widthMs + 60_000;
      expect(await own.pexpiretime(bucket)).toBe(expireAtMs);
      expect(await own.pexpiretime(timelineBucketsKey())).toBe(expireAtMs);
      expect(await own.zscore(timelineBucketsKey(), bucket)).toBe(String(expireAtMs));
      expect((await readTimeline(own, `${prefix}-7`, 10))?.steps.map((step) => step.subject)).toEqual([`${prefix}-7`]);
      expect(await resolveCorrelation(own, { eventId: `${prefix}-7` })).toBe(`${prefix}-7`);
      expect(await resolveCorrelation(own, { queue: 'q', jobId: '7' })).toBe(`${prefix}-7`);
      await master.recorder.close();
      master.recorder = undefined;
    });
  });

  it('reads only live buckets: an expired bucket leaves the registry', async () => {
    await withOwnDatabase(8, async (own) => {
      // A bucket whose expiry has passed (the clock of a writer 2 minutes ago, retention 1 s).
      let nowMs = Date.now() - 120_000;
      master.recorder = new TimelineRecorder({ service: 'test', retentionSec: 1, maxSteps: 10 }, { redis: own, logger, clock: () => nowMs });
      master.recorder.record('old', { kind: 'event.handled', subject: 'e-old' });
      await master.recorder.flush();
      expect(await own.zcard(timelineBucketsKey())).toBe(0);
      expect(await readTimeline(own, 'old', 10)).toBeUndefined();
      // A live bucket: its expiry a minute ahead (retention 1 s from now would let a loaded
      // machine see it expire between the flush and the reads below).
      nowMs = Date.now() + 60_000;
      master.recorder.record('new', { kind: 'event.handled', subject: 'e-new' });
      await master.recorder.flush();
      expect(await own.zcard(timelineBucketsKey())).toBe(1);
      expect((await readTimeline(own, 'new', 10))?.steps.map((step) => step.subject)).toEqual(['e-new']);
      await master.recorder.close();
      master.recorder = undefined;
    });
  });

  it('writes a flush of many correlations and look-ups in few script calls', async () => {
    master.recorder = make(10);
    const prefix = uniqueName('many');
    for (let index = 0; index < 2_500; index += 1) master.recorder.record(`${prefix}-${index}`, { kind: 'event.handled', subject: `e${index}` }, { eventId: `ev-${prefix}-${index}` });
    await master.recorder.flush();
    for (const index of [0, 999, 1_000, 2_499]) {
      expect((await readTimeline(master.redis, `${prefix}-${index}`, 10))?.steps.map((step) => step.subject)).toEqual([`e${index}`]);
      expect(await resolveCorrelation(master.redis, { eventId: `ev-${prefix}-${index}` })).toBe(`${prefix}-${index}`);
    }
    expect(master.recorder.dropped).toBe(0);
  });

  it('expands a batch record into its steps, in time order among the correlation\'s own steps', async () => {
    let nowMs = Date.now();
    master.recorder = make(10, 60, () => nowMs);
    const ids = [uniqueName('ev-a'), uniqueName('ev-b')];
    master.recorder.record(ids[0]!, { kind: 'event.published', subject: ids[0]!, detail: { type: 'workspace.created' } });
    await master.recorder.flush();
    nowMs += 5;
    master.recorder.recordHandled(
      'consumer-1',
      batchOf(master.recorder, [
        { eventId: ids[0]!, entryId: '1-0', type: 'workspace.created', source: 'src', handlers: ['a', 'b'] },
        { eventId: ids[1]!, entryId: '1-1', type: 'user.created', source: 'src', cause: 'c-1', handlers: ['c'] },
      ]),
    );
    nowMs += 5;
    master.recorder.record(ids[0]!, { kind: 'job.created', subject: 'job:q:1', cause: ids[0]! });
    await master.recorder.flush();
    const first = (await readTimeline(master.redis, ids[0]!, 10))!;
    expect(first.steps.map((step) => [step.kind, step.seq])).toEqual([
      ['event.published', 1],
      ['event.handled', 2],
      ['job.created', 3],
    ]);
    expect(first.steps[1]).toMatchObject({ subject: ids[0], service: 'test', detail: { type: 'workspace.created', source: 'src', entryId: '1-0', deliveries: 1, consumer: 'consumer-1', handlers: ['a', 'b'] } });
    const second = (await readTimeline(master.redis, ids[1]!, 10))!;
    expect(second.steps).toEqual([
      { kind: 'event.handled', subject: ids[1], cause: 'c-1', detail: { type: 'user.created', source: 'src', entryId: '1-1', deliveries: 1, consumer: 'consumer-1', handlers: ['c'] }, at: new Date(nowMs - 5).toISOString(), service: 'test', seq: 1 },
    ]);
    expect(await resolveCorrelation(master.redis, { eventId: ids[1]! })).toBe(ids[1]);
    expect(master.recorder.dropped).toBe(0);
  });

  it('stores a batch as one record of its kinds and one pointer per delivery', async () => {
    await withOwnDatabase(9, async (own) => {
      const nowMs = Date.now();
      master.recorder = new TimelineRecorder({ service: 'test', retentionSec: 60, maxSteps: 10 }, { redis: own, logger, clock: () => nowMs });
      const ids = ['a', 'b', 'c', 'd'].map((name) => uniqueName(`ev-${name}`));
      const handlersOf = new Map([['t1', ['h1', 'h2']], ['t2', ['h3']]]);
      const asked: string[] = [];
      const record = master.recorder.handledBatch();
      for (const [index, [type, source, cause]] of ([['t1', 's1'], ['t1', 's1', 'a cause with  spaces '], ['t2', 's2'], ['t1', 's1']] as const).entries()) {
        record.add(ids[index]!, `1-${index}`, type, source, cause, (name) => (asked.push(name), handlersOf.get(name)!));
      }
      // Handlers are looked up once per kind (type and source) of the batch, not per delivery.
      expect(asked).toEqual(['t1', 't2']);
      master.recorder.recordHandled('consumer-1', record);
      await master.recorder.flush();
      const widthMs = timelineBucketWidthMs(60);
      const bucket = timelineBucketKey(timelineBucketStartMs(nowMs, widthMs), widthMs);
      // Four pointers and the record: one field per delivery, one per batch; the flush that
      // followed gave the bucket its expiry and registered it, though it wrote no step.
      expect(await own.hlen(bucket)).toBe(5);
      const expireAtMs = timelineBucketStartMs(nowMs, widthMs) + widthMs + 60_000;
      expect(await own.pexpiretime(bucket)).toBe(expireAtMs);
      expect(await own.zscore(timelineBucketsKey(), bucket)).toBe(String(expireAtMs));
      expect(await own.hget(bucket, timelineHandledField(ids[2]!))).toBe(`${record.field} 1-2 1`);
      expect(await own.hget(bucket, timelineHandledField(ids[1]!))).toBe(`${record.field} 1-1 0 a cause with  spaces `);
      expect(JSON.parse((await own.hget(bucket, record.field))!)).toEqual([nowMs, 'test', 'consumer-1', [['t1', 's1', ['h1', 'h2']], ['t2', 's2', ['h3']]]]);
      const stepOf = async (index: number) => (await readTimeline(own, ids[index]!, 10))?.steps;
      const at = new Date(nowMs).toISOString();
      const step = (index: number, type: string, source: string, handlers: string[], cause?: string) => ({
        kind: 'event.handled',
        subject: ids[index],
        ...(cause !== undefined ? { cause } : {}),
        detail: { type, source, entryId: `1-${index}`, deliveries: 1, consumer: 'consumer-1', handlers },
        at,
        service: 'test',
        seq: 1,
      });
      expect(await stepOf(0)).toEqual([step(0, 't1', 's1', ['h1', 'h2'])]);
      expect(await stepOf(1)).toEqual([step(1, 't1', 's1', ['h1', 'h2'], 'a cause with  spaces ')]);
      expect(await stepOf(2)).toEqual([step(2, 't2', 's2', ['h3'])]);
      expect(await stepOf(3)).toEqual([step(3, 't1', 's1', ['h1', 'h2'])]);
      // A pointer whose record is gone, or that names a kind the record lacks, is no step.
      await own.hset(bucket, timelineHandledField(ids[3]!), `${record.field} 1-3 7`);
      expect(await stepOf(3)).toBeUndefined();
      await own.hdel(bucket, record.field);
      expect(await stepOf(0)).toBeUndefined();
      await master.recorder.close();
      master.recorder = undefined;
    });
  });

  it('registers the bucket of a batch record written just before its bucket ended', async () => {
    await withOwnDatabase(10, async (own) => {
      const widthMs = timelineBucketWidthMs(60);
      let nowMs = timelineBucketStartMs(Date.now(), widthMs) + widthMs - 1;
      master.recorder = new TimelineRecorder({ service: 'test', retentionSec: 60, maxSteps: 10 }, { redis: own, logger, clock: () => nowMs });
      const id = uniqueName('ev-late');
      master.recorder.recordHandled('c', batchOf(master.recorder, [{ eventId: id, entryId: '1-0', type: 't', source: 's', handlers: ['h'] }]));
      // The flush comes in the next bucket, with a step of its own there.
      nowMs += 2;
      master.recorder.record('other', { kind: 'event.published', subject: 'x' });
      await master.recorder.flush();
      const first = timelineBucketKey(timelineBucketStartMs(nowMs - 2, widthMs), widthMs);
      const second = timelineBucketKey(timelineBucketStartMs(nowMs, widthMs), widthMs);
      expect(first).not.toBe(second);
      expect(await own.pexpiretime(first)).toBe(timelineBucketStartMs(nowMs - 2, widthMs) + widthMs + 60_000);
      expect((await own.zrange(timelineBucketsKey(), '0', '-1')).sort()).toEqual([first, second].sort());
      expect((await readTimeline(own, id, 10))?.steps.map((step) => step.kind)).toEqual(['event.handled']);
      await master.recorder.close();
      master.recorder = undefined;
    });
  });

  it('sends the records of consecutive batches as ONE HSET, once about 1,000 deliveries wait or at the flush', async () => {
    await withOwnDatabase(11, async (own) => {
      // The HSETs the recorder sends, counted on the real client as they go out.
      let hsets = 0;
      const send = own.sendCommand.bind(own);
      own.sendCommand = ((command: Command, stream?: unknown) => {
        if (command.name === 'hset') hsets += 1;
        return send(command, stream as never);
      }) as typeof own.sendCommand;
      const nowMs = Date.now();
      // No timer flush during the test: only the size and `flush()` send.
      master.recorder = new TimelineRecorder({ service: 'test', retentionSec: 60, maxSteps: 10, flushIntervalMs: 600_000 }, { redis: own, logger, clock: () => nowMs });
      const prefix = uniqueName('coalesced');
      const batch = (n: number, size: number) =>
        master.recorder!.recordHandled('c', batchOf(master.recorder!, Array.from({ length: size }, (_, index) => ({ eventId: `${prefix}-${n}-${index}`, entryId: `${n}-${index}`, type: 't', source: 's', handlers: ['h'] }))));
      for (let n = 0; n < 4; n += 1) batch(n, 100);
      // A batch of ids and a cause beyond ASCII waits with the others (its lengths are UTF-8's).
      const odd = [`${prefix}-é中-😀`, `${prefix}-ÿ`];
      const oddRecord = master.recorder.handledBatch();
      oddRecord.add(odd[0]!, '4-0', 't', 's', 'cause é 😀', () => ['h']);
      oddRecord.add(odd[1]!, '4-1', 'é-type', 'source ÿ', undefined, () => ['h é']);
      master.recorder.recordHandled('c', oddRecord);
      // 402 deliveries wait: nothing sent yet (one HSET per batch would have sent five).
      expect(hsets).toBe(0);
      // Batches 5-10: the last would pass 2,000 arguments, so the 1,824 waiting (902 deliveries and five records) go first, as one HSET; the last batch waits.
      for (let n = 5; n < 11; n += 1) batch(n, 100);
      expect(hsets).toBe(1);
      await master.recorder.flush();
      expect(hsets).toBe(2);
      const widthMs = timelineBucketWidthMs(60);
      const bucket = timelineBucketKey(timelineBucketStartMs(nowMs, widthMs), widthMs);
      // Every pointer and every record (11 batches) stored, none dropped.
      expect(await own.hlen(bucket)).toBe(10 * 100 + 2 + 11);
      expect(master.recorder.dropped).toBe(0);
      for (const [n, index] of [[0, 0], [3, 99], [5, 0], [9, 99], [10, 0], [10, 99]] as const) {
        const steps = (await readTimeline(own, `${prefix}-${n}-${index}`, 10))?.steps;
        expect(steps?.map((step) => [step.kind, step.subject, step.detail?.entryId, step.detail?.handlers])).toEqual([['event.handled', `${prefix}-${n}-${index}`, `${n}-${index}`, ['h']]]);
      }
      const oddSteps = await Promise.all(odd.map(async (id) => (await readTimeline(own, id, 10))?.steps));
      expect(oddSteps.map((steps) => steps?.map((step) => [step.subject, step.cause ?? null, step.detail?.type, step.detail?.source, step.detail?.handlers]))).toEqual([
        [[odd[0], 'cause é 😀', 't', 's', ['h']]],
        [[odd[1], null, 'é-type', 'source ÿ', ['h é']]],
      ]);
      await master.recorder.close();
      master.recorder = undefined;
    });
  });

  it('writes a flush of many batch records across script calls and HSET slices', async () => {
    master.recorder = make(10);
    const prefix = uniqueName('batches');
    // 30 batches of 100 in one flush: HSETs of about 1,000 fields each.
    for (let batch = 0; batch < 30; batch += 1) {
      master.recorder.recordHandled(
        'c',
        batchOf(master.recorder!, Array.from({ length: 100 }, (_, index) => ({ eventId: `${prefix}-${batch}-${index}`, entryId: `${batch}-${index}`, type: 't', source: 's', handlers: ['h'] }))),
      );
    }
    await master.recorder.flush();
    for (const [batch, index] of [[0, 0], [9, 99], [10, 0], [29, 99]] as const) {
      const steps = (await readTimeline(master.redis, `${prefix}-${batch}-${index}`, 10))?.steps;
      expect(steps?.map((step) => [step.subject, step.detail?.entryId])).toEqual([[`${prefix}-${batch}-${index}`, `${batch}-${index}`]]);
    }
    expect(master.recorder.dropped).toBe(0);
  });

  it('cuts long strings of a detail at 1024 characters and leaves undefined values out', async () => {
    master.recorder = make(10);
    const correlation = uniqueName('detail');
    const detail = { error: 'x'.repeat(2_000), attempt: 2, missing: undefined, short: 'ok' };
    master.recorder.record(correlation, { kind: 'job.failed', subject: 'job:q:1', detail });
    master.recorder.record(correlation, { kind: 'job.started', subject: 'job:q:1', detail: { attempt: 3, note: undefined } });
    await master.recorder.flush();
    const steps = (await readTimeline(master.redis, correlation, 10))!.steps;
    expect(steps.map((step) => step.detail)).toEqual([{ error: `${'x'.repeat(1_024)}…`, attempt: 2, short: 'ok' }, { attempt: 3 }]);
    // The caller's object is not changed.
    expect(detail.error).toHaveLength(2_000);
  });

  it('stores subjects, causes and the service as JSON.stringify would, whatever the characters', async () => {
    // The recorder quotes id-like strings itself and leaves the rest to JSON.stringify: quotes,
    // backslashes, control characters, lone and paired surrogates come back as they were given.
    const odd = ['plain-id', 'a"b', 'back\\slash', 'tab\tnew\nline\u0000', 'lone \ud800 high', 'lone \udc00 low', 'pair 😀', 'é中', '\u2028', ''];
    master.recorder = new TimelineRecorder({ service: 'svc "odd" é', retentionSec: 60, maxSteps: 100 }, { redis: master.redis, logger });
    const correlation = uniqueName('chars');
    for (const text of odd) master.recorder.record(correlation, { kind: 'job.started', subject: text, cause: text, detail: { text } });
    await master.recorder.flush();
    const steps = (await readTimeline(master.redis, correlation, 100))!.steps;
    expect(steps.map((step) => [step.subject, step.cause ?? '', step.detail?.text, step.service])).toEqual(odd.map((text) => [text, text, text, 'svc "odd" é']));
  });

  it('writes again after the server lost its script cache', async () => {
    master.recorder = make(10);
    const correlation = uniqueName('flush');
    master.recorder.record(correlation, { kind: 'event.published', subject: 'a' });
    await master.recorder.flush();
    await master.redis.script('FLUSH');
    master.recorder.record(correlation, { kind: 'event.handled', subject: 'a' });
    await master.recorder.flush();
    expect((await readTimeline(master.redis, correlation, master.recorder.maxSteps))?.steps.map((step) => step.kind)).toEqual(['event.published', 'event.handled']);
    expect(master.recorder.dropped).toBe(0);
  });

  it('records nothing after close, and close is idempotent', async () => {
    master.recorder = make(10);
    const correlation = uniqueName('closed');
    master.recorder.record(correlation, { kind: 'event.published', subject: 'a' });
    const first = master.recorder.close();
    expect(master.recorder.close()).toBe(first);
    await first;
    master.recorder.record(correlation, { kind: 'event.handled', subject: 'a' });
    await master.recorder.flush();
    expect((await readTimeline(master.redis, correlation, master.recorder.maxSteps))?.steps).toHaveLength(1);
  });
});
