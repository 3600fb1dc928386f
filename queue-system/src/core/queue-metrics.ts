import type { Queue } from 'bullmq';
import type { Metric, Registry } from 'prom-client';
import { Gauge } from '@event-infra/shared';
import type { JobObserver } from './job-runner';

const STATES = ['waiting', 'active', 'completed', 'failed', 'delayed', 'paused'] as const;

/** Upper bounds of the job duration histogram, seconds (1 ms … 1 h). */
export const DURATION_BUCKETS_SEC = [0.001, 0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300, 900, 1800, 3600] as const;

interface Series {
  labels: { queue: string; name: string; status: 'completed' | 'failed' };
  /** Per-bucket (non-cumulative) counts. */
  buckets: number[];
  sum: number;
  count: number;
}

interface MetricValue {
  labels: Record<string, string | number>;
  value: number;
  metricName?: string;
}

/** A metric object the prom-client registry can render (it calls `get()` at scrape time). */
function scrapeMetric(name: string, help: string, type: 'histogram' | 'counter', values: () => MetricValue[]): Metric {
  const data = () => ({ name, help, type, aggregator: 'sum' as const, values: values() });
  return { name, help, type, aggregator: 'sum', get: async () => data(), reset: () => undefined } as unknown as Metric;
}

/**
 * Queue metrics: `queue_jobs{queue,state}` (read from Redis at scrape time),
 * `queue_job_duration_seconds{queue,name,status}`, `queue_jobs_completed_total{queue,name}`
 * and `queue_jobs_failed_total{queue,name}` (attempts run by this process).
 *
 * The per-job side is one Map lookup and a few additions: prom-client's labelled
 * `observe`/`inc` validate and hash the labels on every call, which cost more than an empty
 * job; the series are turned into Prometheus values only when scraped.
 */
export function createQueueMetrics(
  registry: Registry,
  queues: readonly Queue[],
  counts: (queue: Queue) => Promise<Record<(typeof STATES)[number], number>>,
): JobObserver {
  new Gauge({
    name: 'queue_jobs',
    help: 'Jobs per queue and state',
    labelNames: ['queue', 'state'] as const,
    registers: [registry],
    async collect() {
      const all = await Promise.all(queues.map(async (queue) => [queue.name, await counts(queue)] as const));
      for (const [queue, byState] of all) for (const state of STATES) this.set({ queue, state }, byState[state]);
    },
  });

  const series = new Map<string, Series>();
  const histogramName = 'queue_job_duration_seconds';
  registry.registerMetric(
    scrapeMetric(histogramName, 'Duration of job attempts run by this process', 'histogram', () =>
      [...series.values()].flatMap((entry) => {
        let cumulative = 0;
        const values: MetricValue[] = DURATION_BUCKETS_SEC.map((le, index) => {
          cumulative += entry.buckets[index]!;
          return { labels: { ...entry.labels, le }, value: cumulative, metricName: `${histogramName}_bucket` };
        });
        values.push(
          { labels: { ...entry.labels, le: '+Inf' }, value: entry.count, metricName: `${histogramName}_bucket` },
          { labels: entry.labels, value: entry.sum, metricName: `${histogramName}_sum` },
          { labels: entry.labels, value: entry.count, metricName: `${histogramName}_count` },
        );
        return values;
      }),
    ),
  );
  for (const status of ['completed', 'failed'] as const) {
    registry.registerMetric(
      scrapeMetric(`queue_jobs_${status}_total`, `Job attempts ${status} in this process`, 'counter', () =>
        [...series.values()]
          .filter((entry) => entry.labels.status === status)
          .map((entry) => ({ labels: { queue: entry.labels.queue, name: entry.labels.name }, value: entry.count })),
      ),
    );
  }

  return {
    finished(queue, name, status, durationMs) {
      const key = `${queue}\u0000${name}\u0000${status}`;
      let entry = series.get(key);
      if (entry === undefined) {
        entry = { labels: { queue, name, status }, buckets: DURATION_BUCKETS_SEC.map(() => 0), sum: 0, count: 0 };
        series.set(key, entry);
      }
      const seconds = durationMs / 1000;
      let index = 0;
      while (index < DURATION_BUCKETS_SEC.length && seconds > DURATION_BUCKETS_SEC[index]!) index += 1;
      if (index < DURATION_BUCKETS_SEC.length) entry.buckets[index]! += 1;
      entry.sum += seconds;
      entry.count += 1;
    },
  };
}
