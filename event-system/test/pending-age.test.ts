import { describe, expect, it } from 'vitest';
import { ALERT_CHANNEL, createMetricsRegistry } from '@event-infra/shared';
import { silentLogger, uniqueName, waitFor } from '@event-infra/testing';
import { ProcessorMetrics } from '../src/core/processor-metrics';
import { RetentionJanitor } from '../src/core/retention-janitor';
import { useTestResources } from './helpers';

const { client } = useTestResources();

describe('oldest pending entry (issue #10)', () => {
  it('is a gauge always and an alert past EVENT_PENDING_ALERT_AGE_MS; both clear once it is acknowledged', async () => {
    const streams = client('streams');
    const subscriber = client('master');
    const alerts: string[] = [];
    subscriber.on('message', (_channel: string, message: string) => alerts.push(message));
    await subscriber.subscribe(ALERT_CHANNEL);
    const stream = uniqueName('stream');
    // An entry written a minute ago, delivered and never acknowledged (a poison entry or a stuck consumer).
    const oldId = `${Date.now() - 60_000}-0`;
    await streams.xadd(stream, oldId, 'n', '0');
    await streams.xgroup('CREATE', stream, 'stuck', '0');
    await streams.xreadgroup('GROUP', 'stuck', 'c1', 'COUNT', 1, 'STREAMS', stream, '>');
    const metrics = new ProcessorMetrics(createMetricsRegistry('test'));
    const janitor = new RetentionJanitor(
      { stream, maxLenApprox: 0, alertRatio: 0.8, pendingAlertAgeMs: 30_000, service: 'test' },
      { streams, master: client('master'), metrics, logger: silentLogger() },
    );

    const report = await janitor.runOnce();
    expect(report.trimPoint).toBe(oldId);
    expect(janitor.oldestPendingAgeMs).toBeGreaterThanOrEqual(60_000);
    expect((await metrics.gauges.oldestPendingAge.get()).values[0]!.value).toBeGreaterThanOrEqual(60);
    const alert = JSON.parse(await waitFor(() => alerts.find((text) => text.includes(stream)), 'the pending-age alert'));
    expect(alert).toMatchObject({ kind: 'stream-pending-age', stream, group: 'stuck', entryId: oldId });

    await streams.xack(stream, 'stuck', oldId);
    await janitor.runOnce();
    expect(janitor.oldestPendingAgeMs).toBe(0);
    expect((await metrics.gauges.oldestPendingAge.get()).values[0]!.value).toBe(0);
  });
});
