/**
 * Settlement rules of the batch processor through a real processor on the test Redis: what
 * goes to the DLQ when, with which attempts, times and DLQ lineage; repeated ids within one
 * batch; handlers that throw synchronously; entries a dead consumer left past RETRY_ATTEMPTS.
 */
import { describe, expect, it } from 'vitest';
import { createEvent, encodeEventRetryRef, newRetryToken, type EventEnvelope } from '@event-infra/shared';
import { waitFor } from '@event-infra/testing';
import type { EventHandler } from '../src/core/router';
import { useTestResources, pendingCount, queueJobs, startTestProcessor, testEnv, testPublisher, workspaceCreated } from './helpers';

const { open, client } = useTestResources();

async function start(env: Record<string, string>, configure: Parameters<typeof startTestProcessor>[1]) {
  const processor = await startTestProcessor(env, configure);
  open.push(processor);
  return processor;
}

async function dlqJobs(env: Record<string, string>, count: number) {
  return waitFor(async () => {
    const jobs = await queueJobs(client('queue'), env.DLQ_QUEUE_NAME!);
    return jobs.length >= count ? jobs : undefined;
  }, `${count} DLQ entries`);
}

async function settled(env: Record<string, string>) {
  await waitFor(async () => (await pendingCount(client('streams'), env.STREAM_NAME!, env.CONSUMER_GROUP!)) === 0, 'nothing pending');
}

describe('batch processor settlement', () => {
  it('a permanent failure goes to the DLQ on its first delivery, named after the failing handler', async () => {
    const env = testEnv({ RETRY_ATTEMPTS: '5' });
    const calls: string[] = [];
    const processor = await start(env, (router) => {
      router.on('*', 'first', async () => void calls.push('first'));
      router.on('workspace.*', 'second', async () => {
        throw Object.assign(new Error('will never work'), { permanent: true });
      });
    });
    const published = await testPublisher(client('streams'), env.STREAM_NAME!).publish(workspaceCreated());
    const [job] = await dlqJobs(env, 1);
    expect(job!.data).toMatchObject({ kind: 'event', name: 'workspace.created', attempts: 1, dlqRetries: 0, origin: { eventId: published.id } });
    expect(job!.data.error.message).toBe('handler second failed: will never work');
    await settled(env);
    expect(calls).toEqual(['first']);
    expect((await processor.engine.stats()).counters).toMatchObject({ processed: 0, failed: 1, deadLettered: 1, invalid: 0 });
  });

  it('after RETRY_ATTEMPTS failed deliveries: the last error, the first failure time, and the DLQ lineage of a retried event', async () => {
    const env = testEnv({ RETRY_ATTEMPTS: '2', EVENT_CLAIM_IDLE_MS: '150', EVENT_CLAIM_INTERVAL_MS: '50' });
    const seen: number[] = [];
    await start(env, (router) =>
      router.on('*', 'failing', async (_event, context) => {
        seen.push(context.deliveries);
        throw new Error(`attempt ${context.deliveries}`);
      }),
    );
    // A DLQ retry carries its entry id with the entry's token: that lineage is passed on as a claim.
    const token = newRetryToken();
    const event: EventEnvelope = createEvent({ ...workspaceCreated(), dlqretries: 2, dlqentryid: encodeEventRetryRef('dlq-entry-7', token) }, 'test');
    const before = Date.now();
    await testPublisher(client('streams'), env.STREAM_NAME!).publishEnvelope(event);
    const [job] = await dlqJobs(env, 1);
    expect(seen).toEqual([1, 2]);
    expect(job!.data).toMatchObject({ attempts: 2, dlqRetries: 2, dlqEntryId: 'dlq-entry-7', dlqToken: token, data: { id: event.id } });
    expect(job!.data.error.message).toBe('handler failing failed: attempt 2');
    const first = Date.parse(job!.data.firstFailedAt);
    const last = Date.parse(job!.data.lastFailedAt);
    expect(first).toBeGreaterThanOrEqual(before - 1000);
    // The first failure was one claim-idle period before the last.
    expect(last - first).toBeGreaterThanOrEqual(100);
    await settled(env);
  });

  it('one event id twice in a batch: the copy runs after the first has finished and is a duplicate once it succeeded', async () => {
    const event = createEvent(workspaceCreated('dup'), 'test');
    const other = createEvent(workspaceCreated('other'), 'test');
    for (const dedupe of ['true', 'false']) {
      const env = testEnv({ EVENT_DEDUPE_ENABLED: dedupe, EVENT_CLAIM_IDLE_MS: '60000' });
      const publisher = testPublisher(client('streams'), env.STREAM_NAME!);
      // Written before the processor starts: one read takes all three.
      await publisher.publishEnvelope(event);
      await publisher.publishEnvelope(other);
      await publisher.publishEnvelope(event);
      let active = 0;
      let overlapped = false;
      const calls: string[] = [];
      const processor = await start(env, (router) =>
        router.on('*', 'count', async (handled) => {
          if (handled.id === event.id) {
            active += 1;
            overlapped ||= active > 1;
            await new Promise((resolve) => setImmediate(resolve));
            active -= 1;
          }
          calls.push(handled.id);
        }),
      );
      await settled(env);
      const counters = (await processor.engine.stats()).counters;
      if (dedupe === 'true') {
        expect(calls.sort()).toEqual([event.id, other.id].sort());
        expect(counters).toMatchObject({ processed: 2, duplicates: 1 });
      } else {
        expect(calls.filter((id) => id === event.id)).toHaveLength(2);
        expect(counters).toMatchObject({ processed: 3, duplicates: 0 });
      }
      expect(overlapped).toBe(false);
    }
  });

  it('a handler that throws instead of rejecting fails only its own event', async () => {
    const env = testEnv({ RETRY_ATTEMPTS: '1' });
    const handled: string[] = [];
    const throwing = ((event: EventEnvelope) => {
      if (event.data.name === 'bad') throw new Error('thrown synchronously');
      handled.push(String(event.data.name));
      return Promise.resolve();
    }) as EventHandler;
    await start(env, (router) => router.on('*', 'sync', throwing));
    await testPublisher(client('streams'), env.STREAM_NAME!).publishBatch([workspaceCreated('bad'), workspaceCreated('good')]);
    const [job] = await dlqJobs(env, 1);
    expect(job!.data.error.message).toBe('handler sync failed: thrown synchronously');
    expect(job!.data.attempts).toBe(1);
    await settled(env);
    expect(handled).toEqual(['good']);
  });

  it('entries a dead consumer left past RETRY_ATTEMPTS go to the DLQ with their delivery count, valid or not', async () => {
    const env = testEnv({ RETRY_ATTEMPTS: '2', EVENT_CLAIM_IDLE_MS: '100', EVENT_CLAIM_INTERVAL_MS: '50' });
    const streams = client('streams');
    const stream = env.STREAM_NAME!;
    const group = env.CONSUMER_GROUP!;
    const good = createEvent(workspaceCreated('orphan'), 'test');
    await streams.xgroup('CREATE', stream, group, '0', 'MKSTREAM');
    await testPublisher(streams, stream).publishEnvelope(good);
    await streams.xadd(stream, '*', 'garbage', 'only');
    const read = (await streams.xreadgroup('GROUP', group, 'dead', 'COUNT', 10, 'STREAMS', stream, '>')) as [string, [string, string[]][]][];
    const ids = read[0]![1].map(([id]) => id);
    // Three deliveries so far; the reclaimer's XAUTOCLAIM makes it the fourth.
    await streams.xclaim(stream, group, 'dead', 0, ...ids, 'RETRYCOUNT', 3);
    const handled: string[] = [];
    await start(env, (router) => router.on('*', 'never', async (event) => void handled.push(event.id)));
    const jobs = await dlqJobs(env, 2);
    const valid = jobs.find((job) => job.data.origin.entryId === ids[0])!;
    const invalid = jobs.find((job) => job.data.origin.entryId === ids[1])!;
    expect(valid.data).toMatchObject({ attempts: 4, name: 'workspace.created', origin: { eventId: good.id } });
    expect(valid.data.error.message).toBe('no successful delivery in 4 deliveries (consumer died or timed out)');
    expect(invalid.data).toMatchObject({ attempts: 4, name: '(invalid)', error: { code: 'invalid_envelope', permanent: true } });
    await settled(env);
    expect(handled).toEqual([]);
  });
});
