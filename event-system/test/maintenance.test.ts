import { describe, expect, it } from 'vitest';
import { ALERT_CHANNEL, createMetricsRegistry, type Redis } from '@event-infra/shared';
import { silentLogger, uniqueName, waitFor } from '@event-infra/testing';
import { ProcessorMetrics } from '../src/core/processor-metrics';
import { RetentionJanitor } from '../src/core/retention-janitor';
import { useTestResources, pendingCount, startTestProcessor, testEnv, testPublisher, workspaceCreated } from './helpers';

const { open, client } = useTestResources();

function janitorFor(stream: string, streams: Redis, master: Redis, maxLenApprox = 0) {
  const metrics = new ProcessorMetrics(createMetricsRegistry('test'));
  const janitor = new RetentionJanitor({ stream, maxLenApprox, alertRatio: 0.8, service: 'test' }, { streams, master, metrics, logger: silentLogger() });
  return { janitor, metrics };
}

async function readGroup(redis: Redis, stream: string, group: string, count: number): Promise<string[]> {
  const reply = (await redis.xreadgroup('GROUP', group, 'c1', 'COUNT', count, 'STREAMS', stream, '>')) as [string, [string, string[]][]][];
  return reply[0]![1].map(([id]) => id);
}

describe('retention janitor', () => {
  it('with two groups, one lagging, trims only what every group acknowledged', async () => {
    const streams = client('streams');
    const stream = uniqueName('stream');
    const ids: string[] = [];
    for (let i = 0; i < 100; i += 1) ids.push((await streams.xadd(stream, '*', 'n', String(i)))!);
    await streams.xgroup('CREATE', stream, 'fast', '0');
    await streams.xgroup('CREATE', stream, 'lagging', '0');
    const { janitor } = janitorFor(stream, streams, client('master'));

    // Nothing delivered yet: the trim point is the very first possible id, nothing goes.
    expect(await janitor.runOnce()).toMatchObject({ trimPoint: '0-1', trimmed: 0, length: 100 });
    await streams.xack(stream, 'fast', ...(await readGroup(streams, stream, 'fast', 100)));
    const lagRead = await readGroup(streams, stream, 'lagging', 50);
    await streams.xack(stream, 'lagging', ...lagRead.slice(0, 20));
    // lagging: entries 20..49 pending, 50..99 undelivered.
    expect(await janitor.runOnce()).toMatchObject({ trimPoint: ids[20], trimmed: 20, length: 80 });
    expect((await streams.xrange(stream, '-', '+')).map(([id]) => id)).toEqual(ids.slice(20));

    await streams.xack(stream, 'lagging', ...lagRead.slice(20));
    // Nothing pending: everything after last-delivered (entry 49) is undelivered and kept.
    const report = await janitor.runOnce();
    expect(report).toMatchObject({ trimmed: 30, length: 50 });
    expect((await streams.xrange(stream, '-', '+')).map(([id]) => id)).toEqual(ids.slice(50));

    // A group that has not read anything keeps everything from where it starts.
    await streams.xgroup('CREATE', stream, 'late', '0');
    expect(await janitor.runOnce()).toMatchObject({ trimmed: 0, length: 50 });
    expect(janitor.lastTrimPoint).toBe('0-1');
  });

  it('does not trim a stream without groups', async () => {
    const streams = client('streams');
    const stream = uniqueName('stream');
    for (let i = 0; i < 5; i += 1) await streams.xadd(stream, '*', 'n', String(i));
    const { janitor } = janitorFor(stream, streams, client('master'));
    expect(await janitor.runOnce()).toMatchObject({ trimPoint: null, trimmed: 0, length: 5 });
  });

  it('raises a metric and an alert when unacknowledged entries approach the safety cap', async () => {
    const streams = client('streams');
    const subscriber = client('master');
    const alerts: string[] = [];
    subscriber.on('message', (_channel: string, message: string) => alerts.push(message));
    await subscriber.subscribe(ALERT_CHANNEL);
    const stream = uniqueName('stream');
    for (let i = 0; i < 90; i += 1) await streams.xadd(stream, '*', 'n', String(i));
    await streams.xgroup('CREATE', stream, 'slow', '0');
    const { janitor, metrics } = janitorFor(stream, streams, client('master'), 100);
    expect((await janitor.runOnce()).alerted).toBe(true);
    const alert = JSON.parse(await waitFor(() => alerts.find((text) => text.includes(stream)), 'alert on ALERT_CHANNEL'));
    expect(alert).toMatchObject({ kind: 'stream-cap', stream, length: 90, maxLenApprox: 100, severity: 'warning' });
    expect((await metrics.gauges.capUsage.get()).values[0]!.value).toBeCloseTo(0.9);
    // Coalesced: no second alert right away.
    expect((await janitor.runOnce()).alerted).toBe(false);
  });
});

describe('consumer cleanup and auto-scaling', () => {
  it('removes consumers that are idle and own nothing, keeps those with pending entries', async () => {
    const env = testEnv({ EVENT_CLAIM_IDLE_MS: '600000', EVENT_CLAIM_INTERVAL_MS: '600000', EVENT_CONSUMER_CLEANUP_IDLE_MS: '300', EVENT_CONSUMERS: '2' });
    const streams = client('streams');
    const stream = env.STREAM_NAME!;
    const group = env.CONSUMER_GROUP!;
    // Two consumers of a dead process: one owns an unacknowledged entry, one owns nothing.
    await streams.xgroup('CREATE', stream, group, '0', 'MKSTREAM');
    await streams.call('XGROUP', 'CREATECONSUMER', stream, group, 'ghost-empty');
    await streams.xadd(stream, '*', 'x', '1');
    await streams.xreadgroup('GROUP', group, 'ghost-owner', 'COUNT', 10, 'STREAMS', stream, '>');
    const processor = await startTestProcessor(env);
    open.push(processor);
    await waitFor(async () => {
      const consumers = (await processor.engine.stats()).consumers;
      return consumers.every((c) => !c.name.startsWith('ghost') || c.idleMs >= 300);
    }, 'ghosts idle');
    const report = await processor.engine.reclaimer.runOnce();
    expect(report.removedConsumers).toEqual(['ghost-empty']);
    const consumers = (await processor.engine.stats()).consumers;
    expect(consumers.find((c) => c.name === 'ghost-owner')).toMatchObject({ pending: 1 });
    expect(consumers.map((c) => c.name)).not.toContain('ghost-empty');
  });

  it('scales consumer loops up under a burst and back down when the lag is gone', { timeout: 60_000 }, async () => {
    const env = testEnv({
      EVENT_CONSUMERS: '1',
      EVENT_CONSUMERS_MIN: '1',
      EVENT_CONSUMERS_MAX: '3',
      EVENT_BATCH_SIZE: '20',
      EVENT_SCALE_UP_LAG: '300',
      EVENT_SCALE_DOWN_LAG: '10',
      EVENT_SCALE_SUSTAIN_MS: '200',
      EVENT_SCALE_INTERVAL_MS: '50',
      EVENT_CLAIM_IDLE_MS: '10000',
    });
    let handled = 0;
    const processor = await startTestProcessor(env, (router) =>
      // Simulated work: 25 ms per event. A batch's events run concurrently, so one loop takes
      // ~25 ms per batch of 20 and needs seconds for the burst: the lag stays high.
      router.on('*', 'work', async () => {
        await new Promise((resolve) => setTimeout(resolve, 25));
        handled += 1;
      }),
    );
    open.push(processor);
    expect((await processor.engine.stats()).consumerLoops).toBe(1);
    const streams = client('streams');
    const publisher = testPublisher(streams, env.STREAM_NAME!);
    for (let i = 0; i < 6; i += 1) await publisher.publishBatch(Array.from({ length: 500 }, () => workspaceCreated()));
    await waitFor(async () => (await processor.engine.stats()).consumerLoops === 3, 'three loops under the burst', { timeoutMs: 20_000 });
    await waitFor(() => handled >= 3_000, 'burst drained', { timeoutMs: 30_000 });
    await waitFor(async () => (await processor.engine.stats()).consumerLoops === 1, 'back to one loop', { timeoutMs: 10_000 });
    expect(await pendingCount(streams, env.STREAM_NAME!, env.CONSUMER_GROUP!)).toBe(0);
    expect(handled).toBe(3_000);
    // Stopped loops leave the group once their last batch is acknowledged (the pool counts a
    // loop as gone as soon as it starts retiring it): only the live loop and the reclaimer remain.
    const liveLoops = async (): Promise<string[]> =>
      (await processor.engine.stats()).consumers.map((c) => c.name).filter((name) => !name.endsWith('-claim'));
    await waitFor(
      async () => JSON.stringify(await liveLoops()) === JSON.stringify(processor.engine.pool.names()),
      'retired loops to leave the group',
      { timeoutMs: 10_000 },
    );
    expect(await liveLoops()).toEqual(processor.engine.pool.names());
  });
});
