import { describe, expect, it } from 'vitest';
import { createEvent, type EventEnvelope, type Redis } from '@event-infra/shared';
import { waitFor } from '@event-infra/testing';
import { xinfoGroups } from '../src/core/stream-replies';
import { useTestResources, pendingCount, queueJobs, startTestProcessor, testEnv, testPublisher, userEvent, workspaceCreated, type TestProcessor } from './helpers';

const { open, client } = useTestResources();

async function start(env: Record<string, string>, configure?: Parameters<typeof startTestProcessor>[1]): Promise<TestProcessor> {
  const processor = await startTestProcessor(env, configure);
  open.push(processor);
  return processor;
}

describe('event processor', () => {
  it('routes each event to the handlers whose pattern matches', async () => {
    const env = testEnv();
    const seen: Record<string, string[]> = { workspace: [], all: [], exact: [] };
    const processor = await start(env, (router) => {
      router.on('workspace.*', 'ws', async (event) => void seen.workspace!.push(event.type));
      router.on('*', 'all', async (event) => void seen.all!.push(event.type));
      router.on('user.created', 'exact', async (event) => void seen.exact!.push(event.type));
    });
    const publisher = testPublisher(client('streams'), env.STREAM_NAME!);
    await publisher.publishBatch([workspaceCreated('a'), userEvent(), { type: 'workspace.deleted', data: { workspaceId: 'ws-a' } }]);
    await waitFor(() => seen.all!.length === 3, 'all three events');
    expect(seen.workspace).toEqual(['workspace.created', 'workspace.deleted']);
    expect(seen.exact).toEqual(['user.created']);
    await waitFor(async () => (await pendingCount(client('streams'), env.STREAM_NAME!, env.CONSUMER_GROUP!)) === 0, 'acknowledged');
    expect((await processor.engine.stats()).counters.processed).toBe(3);
  });

  it('acknowledges an entry only after all its handlers succeeded', async () => {
    const env = testEnv({ EVENT_CLAIM_IDLE_MS: '60000' });
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let entered = false;
    await start(env, (router) => {
      router.on('*', 'first', async () => undefined);
      router.on('*', 'slow', async () => {
        entered = true;
        await gate;
      });
    });
    const streams = client('streams');
    await testPublisher(streams, env.STREAM_NAME!).publish(workspaceCreated());
    await waitFor(() => entered, 'slow handler running');
    expect(await pendingCount(streams, env.STREAM_NAME!, env.CONSUMER_GROUP!)).toBe(1);
    release();
    await waitFor(async () => (await pendingCount(streams, env.STREAM_NAME!, env.CONSUMER_GROUP!)) === 0, 'acknowledged after release');
  });

  it('sends invalid entries to the DLQ at once with the reason, and acknowledges them', async () => {
    // The first dead letter imports bullmq (createLazyQueue), a synchronous load that can stall
    // the loop for some 100 ms on a loaded machine: with the 300 ms claim idle of testEnv the
    // reclaimer could take the entries back meanwhile and count them twice. Reclaiming is not
    // what this test is about.
    const env = testEnv({ EVENT_CLAIM_IDLE_MS: '5000' });
    const handled: string[] = [];
    const processor = await start(env, (router) => router.on('*', 'record', async (event) => void handled.push(event.id)));
    const streams = client('streams');
    const good = createEvent(workspaceCreated(), 'test');
    const stream = env.STREAM_NAME!;
    await streams.xadd(stream, '*', 'id', good.id, 'type', 'workspace.created', 'source', 't', 'specversion', '1.0', 'time', good.time, 'data', '{not json');
    await streams.xadd(stream, '*', 'id', good.id, 'type', 'billing.paid', 'source', 't', 'specversion', '1.0', 'time', good.time, 'data', '{}');
    await streams.xadd(stream, '*', 'id', good.id, 'type', 'workspace.created', 'source', 't', 'specversion', '1.0', 'time', good.time, 'data', '{"workspaceId":"w"}');
    await streams.xadd(stream, '*', 'garbage', 'only');
    await testPublisher(streams, stream).publishEnvelope(good);
    await waitFor(() => handled.length === 1, 'the valid event');
    const jobs = await waitFor(async () => {
      const found = await queueJobs(client('queue'), env.DLQ_QUEUE_NAME!);
      return found.length === 4 ? found : undefined;
    }, 'four DLQ entries');
    const codes = jobs.map((job) => job.data.error.code).sort();
    expect(codes).toEqual(['bad_json', 'invalid_data', 'invalid_envelope', 'unknown_family']);
    for (const job of jobs) {
      expect(job.name).toBe('event');
      expect(job.data.origin).toMatchObject({ kind: 'event', stream, group: env.CONSUMER_GROUP });
      expect(job.data.origin.fields).toBeTypeOf('object');
      expect(job.data.error.permanent).toBe(true);
    }
    expect(jobs.find((job) => job.data.error.code === 'invalid_envelope')!.data.name).toBe('(invalid)');
    await waitFor(async () => (await pendingCount(streams, stream, env.CONSUMER_GROUP!)) === 0, 'all acknowledged');
    const stats = await processor.engine.stats();
    expect(stats.counters).toMatchObject({ processed: 1, invalid: 4, deadLettered: 4 });
  });

  it('sends a poison event to the DLQ after exactly RETRY_ATTEMPTS deliveries while later entries are processed', async () => {
    const env = testEnv({ RETRY_ATTEMPTS: '3', EVENT_CLAIM_IDLE_MS: '200', EVENT_CLAIM_INTERVAL_MS: '100' });
    const attempts: number[] = [];
    const processed: string[] = [];
    await start(env, (router) =>
      router.on('workspace.*', 'picky', async (event, context) => {
        if (event.data.name === 'poison') {
          attempts.push(context.deliveries);
          throw new Error('cannot digest poison');
        }
        processed.push(String(event.data.name));
      }),
    );
    const streams = client('streams');
    const publisher = testPublisher(streams, env.STREAM_NAME!);
    const [poison] = await publisher.publishBatch([workspaceCreated('poison'), ...Array.from({ length: 5 }, (_, i) => workspaceCreated(`ok${i}`))]);
    // Later entries do not wait for the poison one's redeliveries.
    await waitFor(() => processed.length === 5, 'the five good events');
    expect(attempts.length).toBeLessThan(3);
    const [entry] = await waitFor(async () => {
      const found = await queueJobs(client('queue'), env.DLQ_QUEUE_NAME!);
      return found.length > 0 ? found : undefined;
    }, 'the poison event in the DLQ');
    expect(attempts).toEqual([1, 2, 3]);
    expect(entry!.data).toMatchObject({
      kind: 'event',
      name: 'workspace.created',
      attempts: 3,
      origin: { kind: 'event', stream: env.STREAM_NAME, entryId: poison!.streamId, eventId: poison!.id },
      data: { id: poison!.id, type: 'workspace.created', data: { name: 'poison' } },
    });
    expect(entry!.data.error.message).toContain('cannot digest poison');
    await waitFor(async () => (await pendingCount(streams, env.STREAM_NAME!, env.CONSUMER_GROUP!)) === 0, 'nothing pending');
    expect(attempts).toHaveLength(3);
  });

  it('suppresses a duplicate event id, but only once it was processed successfully', async () => {
    const env = testEnv({ EVENT_CLAIM_IDLE_MS: '200', RETRY_ATTEMPTS: '5' });
    const calls: string[] = [];
    let failNext = true;
    const processor = await start(env, (router) =>
      router.on('*', 'count', async (event) => {
        calls.push(event.id);
        if (failNext) {
          failNext = false;
          throw new Error('transient');
        }
      }),
    );
    const streams = client('streams');
    const publisher = testPublisher(streams, env.STREAM_NAME!);
    const event: EventEnvelope = createEvent(workspaceCreated(), 'test');
    await publisher.publishEnvelope(event);
    // First delivery fails (not marked); the redelivery succeeds and marks the id.
    await waitFor(() => calls.length === 2, 'redelivery after the failure');
    await waitFor(async () => (await processor.engine.stats()).counters.processed === 1, 'processed');
    await publisher.publishEnvelope(event);
    await publisher.publishEnvelope(event);
    await waitFor(async () => (await processor.engine.stats()).counters.duplicates === 2, 'two duplicates');
    expect(calls).toHaveLength(2);
    await waitFor(async () => (await pendingCount(streams, env.STREAM_NAME!, env.CONSUMER_GROUP!)) === 0, 'duplicates acknowledged');
  });

  it('never hands an entry a live consumer still works on to another consumer', async () => {
    // Entries read ahead wait for the batch before theirs and then their own (2 x 700 ms), past
    // the claim idle time: the loop's heartbeat (every third of it) keeps them. The heartbeat
    // may come late by two thirds of the idle time (a loaded machine) and still be in time.
    const env = testEnv({ EVENT_CLAIM_IDLE_MS: '1000', EVENT_CLAIM_INTERVAL_MS: '50', EVENT_CONSUMERS: '2', EVENT_DEDUPE_ENABLED: 'false' });
    const calls = new Map<string, number>();
    const processor = await start(env, (router) =>
      router.on('*', 'slow', async (event) => {
        calls.set(event.id, (calls.get(event.id) ?? 0) + 1);
        await new Promise((resolve) => setTimeout(resolve, 700));
      }),
    );
    await testPublisher(client('streams'), env.STREAM_NAME!).publishBatch(Array.from({ length: 8 }, (_, i) => workspaceCreated(`s${i}`)));
    await waitFor(async () => (await processor.engine.stats()).counters.processed === 8, 'eight slow events', { timeoutMs: 15_000 });
    expect([...calls.values()]).toEqual(Array.from({ length: 8 }, () => 1));
    expect((await processor.engine.stats()).counters.reclaimed).toBe(0);
  });

  it('creates the group on a missing stream, on an empty one, and again after it was deleted', async () => {
    const streams = client('streams');
    const missing = testEnv();
    expect(await streams.exists(missing.STREAM_NAME!)).toBe(0);
    await start(missing);
    expect((await xinfoGroups(streams, missing.STREAM_NAME!)).map((g) => g.name)).toEqual([missing.CONSUMER_GROUP]);

    const empty = testEnv();
    const id = await streams.xadd(empty.STREAM_NAME!, '*', 'x', '1');
    await streams.xdel(empty.STREAM_NAME!, id!);
    expect(await streams.xlen(empty.STREAM_NAME!)).toBe(0);
    const handled: string[] = [];
    await start(empty, (router) => router.on('*', 'r', async (event) => void handled.push(event.id)));
    expect((await xinfoGroups(streams, empty.STREAM_NAME!)).map((g) => g.name)).toEqual([empty.CONSUMER_GROUP]);

    // Deleted under a running consumer: NOGROUP, the group is created again, new events flow.
    await streams.del(empty.STREAM_NAME!);
    await waitFor(async () => (await streams.exists(empty.STREAM_NAME!)) === 1, 'stream and group re-created', { timeoutMs: 15_000 });
    const published = await testPublisher(streams, empty.STREAM_NAME!).publish(workspaceCreated());
    await waitFor(() => handled.includes(published.id), 'event after re-creation');
  });
});
