/**
 * The recovery tracker on real parts (see support/handler-parts.ts): tracked retry jobs
 * checked by their BullMQ state and their own `completed` events, and the event processor's
 * "retry handled" records on the streams Redis, read, believed only with the entry's token,
 * consumed either way, and bounded per check.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Queue, Worker, type ConnectionOptions } from 'bullmq';
import { BULL_PREFIX, createEvent, dlqHandledKey, SERVICES, type DeadLetterEntry } from '@event-infra/shared';
import { silentLogger, uniqueName, waitFor } from '@event-infra/testing';
import { RecoveryTracker, type RecoveryTrackerOptions } from '../src/core/recovery-tracker';
import type { StoredEntry } from '../src/core/stored-entry';
import { jobEntry } from './support/dlq-harness';
import { startHandlerParts, type HandlerParts } from './support/handler-parts';

const transient = { message: 'upstream unavailable', code: 'ECONNREFUSED' };

describe('recovery tracker', () => {
  let parts: HandlerParts;
  let connection: ConnectionOptions;
  const cleanups: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    parts = await startHandlerParts({ maxRetries: 3, baseDelayMs: 60_000, maxDelayMs: 600_000 });
    connection = parts.connection;
  });
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  afterAll(async () => {
    await parts.close();
  });

  function tracker(options: Partial<RecoveryTrackerOptions> = {}): RecoveryTracker {
    const made = new RecoveryTracker(
      { connection, checkIntervalMs: 60_000, group: uniqueName('group'), ...options },
      { store: parts.store, handler: parts.handler, streams: parts.streamsRedis, logger: silentLogger() },
    );
    cleanups.push(() => made.close());
    return made;
  }

  function originQueue(): Queue {
    const queue = new Queue(uniqueName('tracker-origin'), { connection: parts.queueRedis, prefix: BULL_PREFIX });
    cleanups.push(async () => {
      await queue.obliterate({ force: true });
      await queue.close();
    });
    return queue;
  }

  /** A transient job failure sent back once (retry 1): its entry is `retried` and tracked. */
  async function retriedJob(queue: Queue, jobId: string): Promise<{ entry: StoredEntry; retryJobId: string }> {
    const first = await parts.handler.handle(jobEntry(queue.name, jobId, transient), `src-${jobId}`);
    await parts.handler.autoRetry(first.id, 1);
    const entry = (await parts.store.get(first.id))!;
    return { entry, retryJobId: entry.retriedTo?.kind === 'job' ? entry.retriedTo.jobId : '' };
  }

  /** A transient event failure of `group` sent back once: its entry is `retried`. */
  async function retriedEvent(group: string): Promise<{ entry: StoredEntry; token: string }> {
    const stream = uniqueName('tracker-stream');
    const event = createEvent({ type: 'workspace.created', data: { workspaceId: uniqueName('w'), name: 'Acme', ownerId: 'u-1' } }, SERVICES.event);
    const now = new Date().toISOString();
    const dead: DeadLetterEntry = {
      kind: 'event',
      origin: { kind: 'event', stream, group, entryId: '1-1', eventId: event.id },
      name: event.type,
      data: event,
      error: transient,
      attempts: 3,
      firstFailedAt: now,
      lastFailedAt: now,
      dlqRetries: 0,
    };
    cleanups.push(async () => void (await parts.streamsRedis.del(stream)));
    const first = await parts.handler.handle(dead, `src-${event.id}`);
    await parts.handler.autoRetry(first.id, 1);
    const read = (await parts.store.read(first.id))!;
    expect(read.state.status).toBe('retried');
    return { entry: read.entry, token: read.state.token };
  }

  /** Completes every waiting job of `queue` with a real worker. */
  async function complete(queue: Queue): Promise<void> {
    const worker = new Worker(queue.name, async () => 'ok', { connection, prefix: BULL_PREFIX });
    cleanups.push(() => worker.close());
    await waitFor(async () => (await queue.getJobCountByTypes('waiting', 'active', 'delayed')) === 0 && (await queue.getCompletedCount()) > 0, 'the retry to complete');
  }

  it('a check marks a retried job recovered by its completed state, and untracks it', async () => {
    const queue = originQueue();
    const { entry, retryJobId } = await retriedJob(queue, 'done-1');
    await complete(queue);
    await tracker().check();
    expect((await parts.store.get(entry.id))?.status).toBe('recovered');
    expect(await parts.store.trackedEntry(queue.name, retryJobId)).toBeUndefined();
  });

  it('a job still waiting stays retried; a job gone past the grace parks the entry; a finished entry is untracked', async () => {
    const queue = originQueue();
    const waiting = await retriedJob(queue, 'wait-1');
    const gone = await retriedJob(queue, 'gone-1');
    await queue.remove(gone.retryJobId);
    const check = tracker({ lostRetryGraceMs: 0 });
    await check.check();
    expect((await parts.store.get(waiting.entry.id))?.status).toBe('retried');
    expect(await parts.store.trackedEntry(queue.name, waiting.retryJobId)).toBe(waiting.entry.id);
    expect(await parts.store.get(gone.entry.id)).toMatchObject({ status: 'parked', parkReason: 'retry_failed' });
    expect(await parts.store.trackedEntry(queue.name, gone.retryJobId)).toBeUndefined();
    // An entry discarded behind the tracker's back (its tracking left over): dropped at the next check.
    await parts.store.track(queue.name, 'left-over', gone.entry.id);
    await check.check();
    expect(await parts.store.trackedEntry(queue.name, 'left-over')).toBeUndefined();
    expect(await parts.store.trackedEntry(queue.name, waiting.retryJobId)).toBe(waiting.entry.id);
  });

  it('the default grace keeps a just-started retry whose job is missing', async () => {
    const queue = originQueue();
    const gone = await retriedJob(queue, 'gone-2');
    await queue.remove(gone.retryJobId);
    await tracker().check();
    expect((await parts.store.get(gone.entry.id))?.status).toBe('retried');
  });

  it("once started, the job's own completed event recovers the entry without waiting for the next check", async () => {
    const queue = originQueue();
    const first = await retriedJob(queue, 'live-1');
    const running = tracker();
    await running.start();
    expect((await parts.store.get(first.entry.id))?.status).toBe('retried');
    await complete(queue);
    await waitFor(async () => (await parts.store.get(first.entry.id))?.status === 'recovered', 'the completion event to recover the entry');
  });

  it('a "retry handled" record with the entry token recovers it; a wrong one does not; both are consumed', async () => {
    const group = uniqueName('group');
    const good = await retriedEvent(group);
    const forged = await retriedEvent(group);
    const key = dlqHandledKey(group);
    cleanups.push(async () => void (await parts.streamsRedis.del(key)));
    await parts.streamsRedis.hset(key, good.entry.id, good.token, forged.entry.id, 'f'.repeat(32), 'no-such-entry', good.token);
    await tracker({ group }).check();
    expect((await parts.store.get(good.entry.id))?.status).toBe('recovered');
    expect((await parts.store.get(forged.entry.id))?.status).toBe('retried');
    expect(await parts.streamsRedis.hlen(key)).toBe(0);
  });

  it("records of another group are read once one of its entries was retried (not only the tracker's own group)", async () => {
    const other = uniqueName('other-group');
    const entry = await retriedEvent(other);
    const key = dlqHandledKey(other);
    cleanups.push(async () => void (await parts.streamsRedis.del(key)));
    await parts.streamsRedis.hset(key, entry.entry.id, entry.token);
    await tracker().check();
    expect((await parts.store.get(entry.entry.id))?.status).toBe('recovered');
  });

  it('reads at most maxRecordsPerCheck records of a group per check, so forged records cannot stall it', async () => {
    const group = uniqueName('group');
    const key = dlqHandledKey(group);
    cleanups.push(async () => void (await parts.streamsRedis.del(key)));
    // Values longer than a listpack keeps (hash-max-listpack-value 64): a real hash table, whose HSCAN honours COUNT.
    const forged = Array.from({ length: 400 }, (_, index) => [`forged-${index}`, 'f'.repeat(100)]).flat();
    await parts.streamsRedis.hset(key, ...forged);
    await tracker({ group, scanCount: 10, maxRecordsPerCheck: 50 }).check();
    const left = await parts.streamsRedis.hlen(key);
    expect(left).toBeLessThanOrEqual(350);
    expect(left).toBeGreaterThanOrEqual(300);
    await tracker({ group, scanCount: 1000 }).check();
    expect(await parts.streamsRedis.hlen(key)).toBe(0);
  });

  it('a newer record written while a check read the old one is kept (consumed only while it holds the value read)', async () => {
    const group = uniqueName('group');
    const key = dlqHandledKey(group);
    cleanups.push(async () => void (await parts.streamsRedis.del(key)));
    const entry = await retriedEvent(group);
    await parts.streamsRedis.hset(key, entry.entry.id, 'f'.repeat(32));
    const original = parts.handler.markRecovered.bind(parts.handler);
    // The event processor writes the real record between the tracker's read and its delete.
    parts.handler.markRecovered = async (...args) => {
      const result = await original(...args);
      await parts.streamsRedis.hset(key, entry.entry.id, entry.token);
      return result;
    };
    try {
      await tracker({ group }).check();
    } finally {
      parts.handler.markRecovered = original;
    }
    expect(await parts.streamsRedis.hget(key, entry.entry.id)).toBe(entry.token);
    await tracker({ group }).check();
    expect((await parts.store.get(entry.entry.id))?.status).toBe('recovered');
  });
});
