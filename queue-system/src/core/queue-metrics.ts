import type { Queue } from 'bullmq';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { JobObserver } from './job-runner';

const STATES = ['waiting', 'active', 'completed', 'failed', 'delayed', 'paused'] as const;

/**
 * Queue metrics: `queue_jobs{queue,state}` (read from Redis at scrape time),
 * `queue_job_duration_seconds{queue,name,status}`, `queue_jobs_completed_total` and
 * `queue_jobs_failed_total` (attempts run by this process).
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
  const duration = new Histogram({
    name: 'queue_job_duration_seconds',
    help: 'Duration of job attempts run by this process',
    labelNames: ['queue', 'name', 'status'] as const,
    buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300, 900, 1800, 3600],
    registers: [registry],
  });
  const completed = new Counter({ name: 'queue_jobs_completed_total', help: 'Jobs completed by this process', labelNames: ['queue', 'name'] as const, registers: [registry] });
  const failed = new Counter({ name: 'queue_jobs_failed_total', help: 'Job attempts failed in this process', labelNames: ['queue', 'name'] as const, registers: [registry] });
  return {
    finished(queue, name, status, durationMs) {
      duration.observe({ queue, name, status }, durationMs / 1000);
      (status === 'completed' ? completed : failed).inc({ queue, name });
    },
  };
}
