/**
 * The reclaimer on the real streams Redis with a real batch processor: rounds per run are
 * bounded, entries deleted while pending are not handled, deliveries past RETRY_ATTEMPTS go
 * to the DLQ, and the cleanup spares live consumers and the reclaimer itself.
 */
import { describe, expect, it } from 'vitest';
import { createDeadLetterSink, createEvent, createMetricsRegistry, type Redis } from '@event-infra/shared';
import { silentLogger, uniqueName, waitFor } from '@event-infra/testing';
import { BatchProcessor } from '../src/core/batch-processor';
import { DuplicateFilter } from '../src/core/dedupe';
import { ProcessorMetrics } from '../src/core/processor-metrics';
import { Reclaimer, type ReclaimerOptions } from '../src/core/reclaimer';
import { Router } from '../src/core/router';
import { xinfoConsumers } from '../src/core/stream-replies';
import { queueJobs, testPublisher, useTestResources, workspaceCreated } from './helpers';

const { open, client } = useTestResources();

async function setup(options: Partial<ReclaimerOptions> = {}, live: string[] = []) {
  const streams = client('streams');
  const stream = uniqueName('stream');
  const group = uniqueName('group');
  const dlqName = uniqueName('dlq');
  const handled: string[] = [];
  const router = new Router().on('*', 'record', async (event) => void handled.push(event.id));
  const dlq = createDeadLetterSink({ queueName: dlqName, connection: client('queue') });
  open.push(dlq);
  const metrics = new ProcessorMetrics(createMetricsRegistry('test'));
  const processor = new BatchProcessor(
    { stream, group, retryAttempts: 3, heartbeatMs: 1000, maxEntryBytes: 1_048_576 },
    { router, dedupe: new DuplicateFilter({ group, enabled: false, windowMs: 60_000 }), dlq, metrics, logger: silentLogger() },
  );
  const reclaimer = new Reclaimer(
    { stream, group, consumer: 'claimer', minIdleMs: 0, batchSize: 10, retryAttempts: 3, cleanupIdleMs: 0, ...options },
    { redis: streams, processor, metrics, logger: silentLogger(), liveConsumers: () => live },
  );
  await streams.xgroup('CREATE', stream, group, '0', 'MKSTREAM');
  return { streams, stream, group, dlqName, handled, metrics, reclaimer };
}

/** Publishes `count` events and lets consumer `dead` read them without acknowledging. */
async function orphans(streams: Redis, stream: string, group: string, count: number): Promise<string[]> {
  const published = await testPublisher(streams, stream).publishBatch(Array.from({ length: count }, (_, i) => workspaceCreated(`o${i}`)));
  await streams.xreadgroup('GROUP', group, 'dead', 'COUNT', count, 'STREAMS', stream, '>');
  return published.map((event) => event.streamId);
}

describe('reclaimer', () => {
  it('claims at most maxRoundsPerRun batches per run, and the rest on the next run', async () => {
    const { streams, stream, group, handled, reclaimer, metrics } = await setup({ batchSize: 2, maxRoundsPerRun: 2 });
    await orphans(streams, stream, group, 5);
    expect(await reclaimer.runOnce()).toMatchObject({ claimed: 4, deadLettered: 0 });
    expect(handled).toHaveLength(4);
    expect(await reclaimer.runOnce()).toMatchObject({ claimed: 1 });
    expect(handled).toHaveLength(5);
    expect(metrics.counters).toMatchObject({ reclaimed: 5, processed: 5 });
    expect(Number((await streams.xpending(stream, group))[0])).toBe(0);
  });

  it('does not handle an entry deleted while it was pending', async () => {
    const { streams, stream, group, handled, reclaimer } = await setup();
    const ids = await orphans(streams, stream, group, 3);
    await streams.xdel(stream, ids[1]!);
    expect((await reclaimer.runOnce()).claimed).toBe(2);
    expect(handled).toHaveLength(2);
  });

  it('sends entries delivered more than retryAttempts times to the DLQ and acknowledges them', async () => {
    const { streams, stream, group, dlqName, handled, reclaimer } = await setup({ retryAttempts: 2 });
    const ids = await orphans(streams, stream, group, 2);
    // One entry at 2 deliveries (the claim makes it 3: over the limit), one at 1 (claim: 2).
    await streams.xclaim(stream, group, 'dead', 0, ids[0]!, 'RETRYCOUNT', 2);
    const report = await reclaimer.runOnce();
    expect(report).toMatchObject({ claimed: 2, deadLettered: 1 });
    expect(handled).toHaveLength(1);
    const jobs = await waitFor(async () => {
      const found = await queueJobs(client('queue'), dlqName);
      return found.length === 1 ? found : undefined;
    }, 'the DLQ entry');
    expect(jobs[0]!.data).toMatchObject({ attempts: 3, origin: { entryId: ids[0] } });
    expect(Number((await streams.xpending(stream, group))[0])).toBe(0);
  });

  it('removes idle consumers that own nothing, but never a live one or itself', async () => {
    const { streams, stream, group, reclaimer } = await setup({ cleanupIdleMs: 0 }, ['live-loop']);
    for (const name of ['claimer', 'live-loop', 'gone-1', 'gone-2']) await streams.call('XGROUP', 'CREATECONSUMER', stream, group, name);
    const report = await reclaimer.runOnce();
    expect(report.removedConsumers.sort()).toEqual(['gone-1', 'gone-2']);
    const names = (await xinfoConsumers(streams, stream, group)).map((c) => c.name).sort();
    expect(names).toEqual(['claimer', 'live-loop']);
  });

  it('a consumer idle for less than cleanupIdleMs is kept', async () => {
    const { streams, stream, group, reclaimer } = await setup({ cleanupIdleMs: 600_000 });
    await streams.call('XGROUP', 'CREATECONSUMER', stream, group, 'recent');
    expect((await reclaimer.runOnce()).removedConsumers).toEqual([]);
  });

  it('a missing stream is no error: nothing claimed, nothing removed', async () => {
    const { streams, stream, reclaimer } = await setup();
    await streams.del(stream);
    expect(await reclaimer.runOnce()).toEqual({ claimed: 0, deadLettered: 0, removedConsumers: [] });
  });
});
