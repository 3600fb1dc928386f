import { Queue, Worker, type ConnectionOptions } from 'bullmq';
import {
  BULL_PREFIX,
  bullPrefix,
  REDIS_ROLES,
  createDeadLetterSink,
  createLogger,
  createRedis,
  redisOptions,
  waitForRedis,
  type DeadLetterEntry,
} from '@event-infra/shared';
import { uniqueName } from '@event-infra/testing';
import { loadConfig } from '../../dlq-system/src/config';
import { startDlqProcessor } from '../../dlq-system/src/service';
import type { BenchRow, BenchSuite } from '../types';

const CONCURRENCY = 5;

function entry(queue: string, index: number): DeadLetterEntry {
  const now = new Date().toISOString();
  return {
    kind: 'job',
    origin: { kind: 'job', queue, jobId: String(index + 1) },
    name: 'demo.fail',
    data: { index, payload: 'x'.repeat(200) },
    error: { message: 'invalid payload', name: 'PermanentJobError', permanent: true },
    attempts: 3,
    firstFailedAt: now,
    lastFailedAt: now,
  };
}

async function until(check: () => Promise<boolean>): Promise<void> {
  while (!(await check())) await new Promise((resolve) => setTimeout(resolve, 10));
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function latencyMs(url: string, samples: number): Promise<number> {
  const times: number[] = [];
  for (let index = 0; index < samples; index += 1) {
    const started = performance.now();
    const response = await fetch(url);
    await response.text();
    times.push(performance.now() - started);
  }
  return median(times);
}

/**
 * DLQ processor: entries classified, stored with their indexes and alerted (coalesced) per
 * second, against a bare BullMQ worker that stores each job with one SET on the same Redis;
 * and the latency of a filtered `GET /dlq` page over all those entries against `GET /health`.
 */
const suite: BenchSuite = {
  name: 'dlq',
  async run({ redis, scale }) {
    const count = Math.max(200, Math.round(2_000 * scale));
    const logger = createLogger({ service: 'bench', level: 'silent' });
    const client = createRedis({ url: redis.url, role: REDIS_ROLES.queue, profile: 'producer', logger });
    await waitForRedis(client, 'bench');
    const connection = redisOptions({ url: redis.url, role: REDIS_ROLES.queue, profile: 'consumer' }) as ConnectionOptions;

    // Baseline: a bare worker that stores each job with one SET.
    const baselineQueue = new Queue(uniqueName('bench-baseline'), { connection: client, prefix: BULL_PREFIX });
    await baselineQueue.addBulk(Array.from({ length: count }, (_, index) => ({ name: 'job', data: entry('bench', index) })));
    let done = 0;
    const baselineStarted = performance.now();
    const worker = new Worker(
      baselineQueue.name,
      async (job) => {
        await client.set(`bench:${job.id}`, JSON.stringify(job.data));
      },
      { connection, prefix: BULL_PREFIX, concurrency: CONCURRENCY },
    );
    worker.on('completed', () => (done += 1));
    await until(async () => done >= count);
    const baselinePerSec = count / ((performance.now() - baselineStarted) / 1_000);
    await worker.close();
    await baselineQueue.obliterate({ force: true });
    await baselineQueue.close();

    // The DLQ processor on a pre-filled dead-letter queue.
    const config = loadConfig({
      LOG_LEVEL: 'silent',
      REDIS_URL: redis.url,
      REDIS_STREAMS_URL: redis.url,
      REDIS_QUEUE_URL: redis.url,
      DLQ_PROCESSOR_PORT: '0',
      DLQ_QUEUE_NAME: uniqueName('bench-dlq'),
      DLQ_CONCURRENCY: String(CONCURRENCY),
      ALERT_COALESCE_WINDOW_MS: '60000',
    });
    const sink = createDeadLetterSink({ queueName: config.DLQ_QUEUE_NAME, connection: client });
    const origin = uniqueName('bench-origin');
    for (let index = 0; index < count; index += 100) {
      await Promise.all(Array.from({ length: Math.min(100, count - index) }, (_, offset) => sink.add(entry(origin, index + offset))));
    }
    const dlqStarted = performance.now();
    const processor = await startDlqProcessor(config, logger);
    await until(async () => (await processor.store.counters()).parked >= count);
    const dlqPerSec = count / ((performance.now() - dlqStarted) / 1_000);

    const listMs = await latencyMs(`${processor.url}/dlq?origin=${origin}&classification=permanent&status=parked&page=3&limit=50`, 50);
    const healthMs = await latencyMs(`${processor.url}/health`, 50);
    await processor.close();
    await sink.close();
    client.disconnect();

    const rows: BenchRow[] = [
      {
        metric: `DLQ entries classified+parked/s (${count}, concurrency ${CONCURRENCY})`,
        value: dlqPerSec,
        unit: '/s',
        baseline: 'bare BullMQ worker, one SET per job',
        baselineValue: baselinePerSec,
        target: 0.25,
        note: 'includes start-up of the processor',
      },
      {
        metric: `GET /dlq filtered page (3 filters, ${count} entries) median`,
        value: listMs,
        unit: 'ms',
        baseline: 'GET /health median',
        baselineValue: healthMs,
        target: 50,
        lowerIsBetter: true,
      },
    ];
    return rows;
  },
};

export default suite;
