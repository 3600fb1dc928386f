/**
 * Sending stored failures back, on the run's real queue and streams Redis: the retry job's
 * id, data, options and the create-and-verify check; the re-published event's envelope, its
 * retry reference and correlation; entries that cannot be sent.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { Queue } from 'bullmq';
import {
  BULL_PREFIX,
  DLQ_META_KEY,
  REDIS_ROLES,
  SERVICES,
  createEvent,
  createRedis,
  decodeEvent,
  retryJobId,
  waitForRedis,
  type Redis,
} from '@event-infra/shared';
import { silentLogger, uniqueName } from '@event-infra/testing';
import { OriginSender, RetryIdTakenError } from '../src/core/origin-sender';
import type { StoredEntry } from '../src/core/stored-entry';
import { storedEntry } from './support/stored-entries';

const TOKEN = 'a'.repeat(32);

function stored(extra: Partial<StoredEntry>): StoredEntry {
  return storedEntry({ id: uniqueName('entry'), data: { who: 'original' }, status: 'retried' }, { version: 2, retries: 1, lastSource: 's', ...extra });
}

describe('origin sender', () => {
  let queueRedis: Redis;
  let streamsRedis: Redis;
  let sender: OriginSender;
  const queues: Queue[] = [];
  const streams: string[] = [];

  beforeAll(async () => {
    const logger = silentLogger();
    queueRedis = createRedis({ url: inject('redis').queue, role: REDIS_ROLES.queue, profile: 'producer', logger });
    streamsRedis = createRedis({ url: inject('redis').streams, role: REDIS_ROLES.streams, profile: 'producer', logger });
    await Promise.all([waitForRedis(queueRedis, 'queue'), waitForRedis(streamsRedis, 'streams')]);
    sender = new OriginSender({ queueRedis, streamsRedis, logger, streamMaxLenApprox: 1000 });
  });
  afterAll(async () => {
    await sender.close();
    for (const queue of queues) {
      await queue.obliterate({ force: true });
      await queue.close();
    }
    if (streams.length > 0) await streamsRedis.del(...streams);
    queueRedis.disconnect();
    streamsRedis.disconnect();
  });

  function jobStored(extra: Partial<StoredEntry> = {}): { entry: StoredEntry; queue: Queue } {
    const queue = new Queue(uniqueName('sender-q'), { connection: queueRedis, prefix: BULL_PREFIX });
    queues.push(queue);
    const entry = stored({ origin: { kind: 'job', queue: queue.name, jobId: 'orig-1', opts: { attempts: 4, priority: 3, lifo: true } }, originName: queue.name, ...extra });
    return { entry, queue };
  }

  function eventStored(extra: Partial<StoredEntry> = {}): { entry: StoredEntry; stream: string; eventId: string } {
    const stream = uniqueName('sender-stream');
    streams.push(stream);
    const event = createEvent({ type: 'workspace.created', data: { workspaceId: 'w-1', name: 'Acme', ownerId: 'u-1' } }, SERVICES.event);
    const entry = stored({
      kind: 'event',
      origin: { kind: 'event', stream, group: 'g', entryId: '1-1', eventId: event.id },
      originName: stream,
      name: event.type,
      data: event,
      ...extra,
    });
    return { entry, stream, eventId: event.id };
  }

  it('sends a job back under the retry id, with its data, the retry reference and the kept options only', async () => {
    const { entry, queue } = jobStored({ correlationId: 'corr-9' });
    const planned = sender.plannedTarget(entry, 2, TOKEN);
    const jobId = retryJobId('orig-1', 2, TOKEN);
    expect(planned).toEqual({ kind: 'job', queue: queue.name, jobId });
    expect(await sender.send(entry, 2, TOKEN)).toEqual(planned);
    const job = (await queue.getJob(jobId))!;
    expect(job.name).toBe('demo.fail');
    expect(job.data).toMatchObject({ who: 'original', [DLQ_META_KEY]: { entryId: entry.id, retries: 2, token: TOKEN } });
    expect(JSON.stringify(job.data)).toContain('corr-9');
    expect(job.opts).toMatchObject({ attempts: 4, priority: 3 });
    expect(job.opts.lifo).toBeUndefined();
    // Sending the same retry again (an interrupted send): the job found is ours, no error.
    expect(await sender.send(entry, 2, TOKEN)).toEqual(planned);
    expect(await queue.getJobCountByTypes('waiting', 'prioritized', 'delayed')).toBe(1);
  });

  it('a job already under the retry id that is not this retry (other token or entry): RetryIdTakenError, nothing sent', async () => {
    const { entry, queue } = jobStored();
    const jobId = retryJobId('orig-1', 1, TOKEN);
    await queue.add('squat', { [DLQ_META_KEY]: { entryId: entry.id, retries: 1, token: 'b'.repeat(32) } }, { jobId });
    const error = await sender.send(entry, 1, TOKEN).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(RetryIdTakenError);
    expect(error).toMatchObject({ code: 'conflict', name: 'RetryIdTakenError' });
    expect((error as Error).message).toContain(`retry job id ${jobId} on ${queue.name} is already taken`);

    const other = jobStored();
    const otherId = retryJobId('orig-1', 1, TOKEN);
    await other.queue.add('squat', { [DLQ_META_KEY]: { entryId: 'someone-else', retries: 1, token: TOKEN } }, { jobId: otherId });
    await expect(sender.send(other.entry, 1, TOKEN)).rejects.toBeInstanceOf(RetryIdTakenError);
    const plain = jobStored();
    await plain.queue.add('squat', { nothing: true }, { jobId: retryJobId('orig-1', 1, TOKEN) });
    await expect(sender.send(plain.entry, 1, TOKEN)).rejects.toBeInstanceOf(RetryIdTakenError);
  });

  it('refuses job data that is not an object (null, array, string) before sending', async () => {
    for (const data of [null, [1], 'text']) {
      const { entry, queue } = jobStored({ data });
      expect(() => sender.assertRetryable(entry)).toThrow(`entry ${entry.id} has no object job data to send back`);
      await expect(sender.send(entry, 1, TOKEN)).rejects.toMatchObject({ code: 'conflict' });
      expect(await queue.getJobCountByTypes('waiting', 'prioritized', 'delayed')).toBe(0);
    }
    expect(() => sender.assertRetryable(jobStored().entry)).not.toThrow();
  });

  it('re-publishes an event with its own id, the retry count and reference, and the entry as its cause', async () => {
    const { entry, stream, eventId } = eventStored({ correlationId: 'corr-1' });
    expect(sender.plannedTarget(entry, 3, TOKEN)).toEqual({ kind: 'event', stream, eventId, streamId: '' });
    const target = await sender.send(entry, 3, TOKEN);
    const [streamId, fields] = (await streamsRedis.xrange(stream, '-', '+'))[0]!;
    expect(target).toEqual({ kind: 'event', stream, eventId, streamId });
    const event = decodeEvent(fields);
    expect(event).toMatchObject({ id: eventId, type: 'workspace.created', dlqretries: 3, dlqentryid: `${entry.id}.${TOKEN}`, correlationid: 'corr-1', causationid: entry.id });
  });

  it('an event without a correlation gets none; an entry that is not a valid event cannot be re-published', async () => {
    const { entry, stream } = eventStored();
    await sender.send(entry, 1, TOKEN);
    const [, fields] = (await streamsRedis.xrange(stream, '-', '+'))[0]!;
    const event = decodeEvent(fields);
    expect(event.correlationid).toBeUndefined();
    expect(event.causationid).toBeUndefined();
    const invalid = eventStored({ data: { type: '' } });
    expect(() => sender.assertRetryable(invalid.entry)).toThrow(`entry ${invalid.entry.id} is not a valid event and cannot be re-published`);
    await expect(sender.send(invalid.entry, 1, TOKEN)).rejects.toMatchObject({ code: 'conflict', cause: expect.any(Error) });
    expect(await streamsRedis.xlen(invalid.stream)).toBe(0);
  });
});
