import { afterEach, describe, expect, it } from 'vitest';
import type { Redis } from '@event-infra/shared';
import { waitFor } from '@event-infra/testing';
import { loadConfig } from '../src/config';
import { startTestProcessor, testClient, testEnv, testPublisher, workspaceCreated, type TestProcessor } from './helpers';

const open: { close(): Promise<void> }[] = [];
const clients: Redis[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((item) => item.close()));
  await Promise.all(clients.splice(0).map((client) => client.quit()));
});

async function start(env: Record<string, string>): Promise<TestProcessor> {
  const processor = await startTestProcessor(env);
  open.push(processor);
  return processor;
}

describe('/stats and /metrics', () => {
  it('report stream, group, consumers, counters, loops and trim point', async () => {
    const env = testEnv({ EVENT_CONSUMERS: '2', EVENT_TRIM_INTERVAL_MS: '100', EVENT_FANOUT_ENABLED: 'true' });
    const processor = await start(env);
    const streams = testClient('streams');
    clients.push(streams);
    await testPublisher(streams, env.STREAM_NAME!).publishBatch([workspaceCreated('a'), workspaceCreated('b'), workspaceCreated('c')]);
    await streams.xadd(env.STREAM_NAME!, '*', 'junk', '1');
    const stats = await waitFor(async () => {
      const body = (await (await fetch(`${processor.url}/stats`)).json()) as Record<string, any>;
      return body.counters.processed === 3 && body.length === 0 ? body : undefined;
    }, 'processed and trimmed');
    expect(stats).toMatchObject({
      service: 'event-processor',
      stream: env.STREAM_NAME,
      group: env.CONSUMER_GROUP,
      lag: 0,
      pending: 0,
      consumerLoops: 2,
      consumerLoopBounds: { min: 1, max: 8 },
      counters: { processed: 3, invalid: 1, deadLettered: 1, duplicates: 0, failed: 0 },
    });
    expect(stats.trimPoint).toMatch(/^\d+-\d+$/);
    expect(stats.handlers).toEqual([{ name: 'fan-out', pattern: '*' }]);
    for (const consumer of stats.consumers) expect(consumer).toEqual({ name: expect.any(String), pending: 0, idleMs: expect.any(Number) });
    expect(JSON.stringify(stats)).not.toContain(new URL(env.REDIS_STREAMS_URL!).password);

    const metrics = await (await fetch(`${processor.url}/metrics`)).text();
    expect(metrics).toMatch(/event_processor_events_total\{outcome="processed",service="event-processor"\} 3/);
    expect(metrics).toMatch(/event_processor_latency_seconds_count\{service="event-processor"\} 3/);
    expect(metrics).toMatch(/event_processor_consumer_loops\{service="event-processor"\} 2/);
    expect(metrics).toMatch(/event_processor_group_lag\{service="event-processor"\} 0/);
    expect(metrics).toMatch(/event_processor_stream_cap_usage_ratio/);
  });

  it('event times more than a day from now are processed but kept out of the latency histogram', async () => {
    const env = testEnv();
    const processor = await start(env);
    const streams = testClient('streams');
    clients.push(streams);
    const skewed = (id: string, time: string) => ({ ...workspaceCreated(id), time });
    const publisher = testPublisher(streams, env.STREAM_NAME!);
    await publisher.publishBatch([workspaceCreated('now'), skewed('future', '9999-12-31T23:59:59.000Z'), skewed('past', '2001-01-01T00:00:00.000Z')]);
    await waitFor(async () => ((await (await fetch(`${processor.url}/stats`)).json()) as Record<string, any>).counters.processed === 3 || undefined, 'processed');
    const metrics = await (await fetch(`${processor.url}/metrics`)).text();
    expect(metrics).toMatch(/event_processor_latency_seconds_count\{service="event-processor"\} 1\n/);
    expect(metrics).toMatch(/event_processor_latency_skipped_total\{service="event-processor"\} 2\n/);
    const sum = Number(/event_processor_latency_seconds_sum\{service="event-processor"\} (\S+)/.exec(metrics)?.[1]);
    expect(sum).toBeLessThan(60);
  });

  it('rejects a bad configuration with one line naming the variable', () => {
    expect(() => loadConfig(testEnv({ EVENT_CONSUMERS_MIN: '5', EVENT_CONSUMERS_MAX: '2' }))).toThrow(/EVENT_CONSUMERS_MIN: must not exceed EVENT_CONSUMERS_MAX/);
    expect(() => loadConfig(testEnv({ EVENT_CAP_ALERT_RATIO: '2' }))).toThrow(/EVENT_CAP_ALERT_RATIO/);
    expect(() => loadConfig(testEnv({ EVENT_DEDUPE_ENABLED: 'maybe' }))).toThrow(/EVENT_DEDUPE_ENABLED/);
  });

  it('refuses to start with a broken triggers file', async () => {
    await expect(startTestProcessor(testEnv({ EVENT_TRIGGERS_FILE: '/nonexistent/triggers.json' }))).rejects.toThrow(/triggers file \/nonexistent/);
  });
});
