/** Processor counters and Prometheus metrics: labels, zero increments, latency clamping. */
import { describe, expect, it } from 'vitest';
import { Registry } from '@event-infra/shared';
import { ProcessorMetrics } from '../src/core/processor-metrics';

async function metricValues(registry: Registry, name: string) {
  const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === name);
  // Histogram values also name their series (`_bucket`, `_sum`, `_count`).
  return (metric?.values ?? []) as { value: number; labels: Record<string, string | number>; metricName?: string }[];
}

describe('processor metrics', () => {
  it('counts outcomes in /stats counters and under their Prometheus labels', async () => {
    const registry = new Registry();
    const metrics = new ProcessorMetrics(registry);
    metrics.count('deadLettered', 2);
    metrics.count('duplicates');
    metrics.count('processed', 0);
    expect(metrics.counters).toEqual({ processed: 0, failed: 0, deadLettered: 2, invalid: 0, duplicates: 1, reclaimed: 0 });
    const values = await metricValues(registry, 'event_processor_events_total');
    expect(values.map((v) => [v.labels.outcome, v.value]).sort()).toEqual([
      ['dead_lettered', 2],
      ['duplicate', 1],
    ]);
  });

  it('observes latency in seconds, clamps a future publish time to 0, ignores a time that is not a number', async () => {
    const registry = new Registry();
    const metrics = new ProcessorMetrics(registry);
    metrics.observeLatency(1_000, 3_500);
    metrics.observeLatency(5_000, 4_000);
    metrics.observeLatency(Number.NaN, 4_000);
    const values = await metricValues(registry, 'event_processor_latency_seconds');
    expect(values.find((v) => v.metricName === 'event_processor_latency_seconds_count')?.value).toBe(2);
    expect(values.find((v) => v.metricName === 'event_processor_latency_seconds_sum')?.value).toBe(2.5);
    expect(values.find((v) => v.metricName === 'event_processor_latency_seconds_bucket' && v.labels.le === 0.001)?.value).toBe(1);
  });

  it('refreshes the stream gauges through onCollect when /metrics is rendered', async () => {
    const registry = new Registry();
    const metrics = new ProcessorMetrics(registry);
    let collected = 0;
    metrics.onCollect = async () => {
      collected += 1;
      metrics.gauges.streamLength.set(42);
    };
    expect(await registry.metrics()).toContain('event_processor_stream_length 42');
    expect(collected).toBe(1);
  });
});
