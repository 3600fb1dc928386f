/**
 * Retention janitor edge cases on the real streams Redis: the oldest pending entry below the
 * last-delivered one, a missing stream, the cap alert's severity, repeat interval and gauge.
 */
import { describe, expect, it } from 'vitest';
import { ALERT_CHANNEL, createMetricsRegistry, type Redis } from '@event-infra/shared';
import { silentLogger, uniqueName, waitFor } from '@event-infra/testing';
import { ProcessorMetrics } from '../src/core/processor-metrics';
import { RetentionJanitor } from '../src/core/retention-janitor';
import { nextStreamId } from '../src/core/stream-replies';
import { useTestResources } from './helpers';

const { client } = useTestResources();

function janitorFor(stream: string, streams: Redis, master: Redis, options: { maxLenApprox?: number; alertRepeatMs?: number } = {}) {
  const metrics = new ProcessorMetrics(createMetricsRegistry('test'));
  const janitor = new RetentionJanitor(
    { stream, maxLenApprox: options.maxLenApprox ?? 0, alertRatio: 0.5, service: 'janitor-test', ...(options.alertRepeatMs === undefined ? {} : { alertRepeatMs: options.alertRepeatMs }) },
    { streams, master, metrics, logger: silentLogger() },
  );
  return { janitor, metrics };
}

async function fill(streams: Redis, stream: string, count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i += 1) ids.push((await streams.xadd(stream, '*', 'n', String(i)))!);
  return ids;
}

async function alertsOn(subscriber: Redis, stream: string): Promise<Record<string, unknown>[]> {
  const alerts: Record<string, unknown>[] = [];
  subscriber.on('message', (_channel: string, message: string) => {
    const alert = JSON.parse(message) as Record<string, unknown>;
    if (alert.stream === stream) alerts.push(alert);
  });
  await subscriber.subscribe(ALERT_CHANNEL);
  return alerts;
}

describe('retention janitor edge cases', () => {
  it('keeps from the oldest pending entry when it is older than what the group delivered last', async () => {
    const streams = client('streams');
    const stream = uniqueName('stream');
    const ids = await fill(streams, stream, 10);
    await streams.xgroup('CREATE', stream, 'g', '0');
    await streams.xreadgroup('GROUP', 'g', 'c', 'COUNT', 10, 'STREAMS', stream, '>');
    await streams.xack(stream, 'g', ...ids.slice(0, 3), ...ids.slice(4));
    const { janitor } = janitorFor(stream, streams, client('master'));
    expect(await janitor.safeTrimPoint()).toBe(ids[3]);
    expect(await janitor.runOnce()).toMatchObject({ trimPoint: ids[3], trimmed: 3, length: 7, alerted: false });
    expect(janitor.lastRunAt).not.toBeNull();
  });

  it('takes the minimum over groups whichever group is listed first', async () => {
    const streams = client('streams');
    const stream = uniqueName('stream');
    const ids = await fill(streams, stream, 6);
    // "a" is listed first and is ahead; "b" is behind.
    await streams.xgroup('CREATE', stream, 'a', '$');
    await streams.xgroup('CREATE', stream, 'b', ids[1]!);
    const { janitor } = janitorFor(stream, streams, client('master'));
    expect(await janitor.safeTrimPoint()).toBe(nextStreamId(ids[1]!));
  });

  it('reads a missing stream as nothing to trim, length 0', async () => {
    const { janitor } = janitorFor(uniqueName('stream'), client('streams'), client('master'), { maxLenApprox: 10 });
    expect(await janitor.runOnce()).toEqual({ trimPoint: null, trimmed: 0, length: 0, alerted: false });
    expect(janitor.lastTrimPoint).toBeNull();
  });

  it('alerts critical at or over the cap, repeats only after alertRepeatMs, and sets the usage gauge', async () => {
    const streams = client('streams');
    const stream = uniqueName('stream');
    await fill(streams, stream, 12);
    await streams.xgroup('CREATE', stream, 'slow', '0');
    const alerts = await alertsOn(client('master'), stream);
    const { janitor, metrics } = janitorFor(stream, streams, client('master'), { maxLenApprox: 10, alertRepeatMs: 0 });
    expect((await janitor.runOnce()).alerted).toBe(true);
    expect((await janitor.runOnce()).alerted).toBe(true);
    await waitFor(() => alerts.length === 2, 'two alerts');
    expect(alerts[0]).toMatchObject({ kind: 'stream-cap', severity: 'critical', source: 'janitor-test', length: 12, maxLenApprox: 10, usage: 1.2 });
    expect(String(alerts[0]!.message)).toContain('120%');
    expect(Date.parse(String(alerts[0]!.at))).toBeGreaterThan(Date.now() - 60_000);
    expect((await metrics.gauges.capUsage.get()).values[0]!.value).toBeCloseTo(1.2);
  });

  it('below the alert ratio: gauge only; without a cap: neither gauge nor alert', async () => {
    const streams = client('streams');
    const stream = uniqueName('stream');
    await fill(streams, stream, 4);
    await streams.xgroup('CREATE', stream, 'slow', '0');
    const below = janitorFor(stream, streams, client('master'), { maxLenApprox: 10, alertRepeatMs: 0 });
    expect((await below.janitor.runOnce()).alerted).toBe(false);
    expect((await below.metrics.gauges.capUsage.get()).values[0]!.value).toBeCloseTo(0.4);
    const atRatio = janitorFor(stream, streams, client('master'), { maxLenApprox: 8, alertRepeatMs: 0 });
    expect((await atRatio.janitor.runOnce()).alerted).toBe(true);
    const uncapped = janitorFor(stream, streams, client('master'));
    expect((await uncapped.janitor.runOnce()).alerted).toBe(false);
    expect((await uncapped.metrics.gauges.capUsage.get()).values[0]!.value).toBe(0);
  });
});
