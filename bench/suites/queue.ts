/**
 * Queue processor benchmark (issue 3):
 * (a) jobs/s drained by the processor's worker path (worker pool + job runner: registry,
 *     timeout, DLQ metadata split, metrics; events off) vs a bare BullMQ Worker with an empty
 *     processor; same concurrency (100), same worker options, tiny jobs;
 * (b) jobs/s accepted by POST /jobs/:queue/bulk (1,000 per request) vs bare Queue.addBulk;
 * (c) p50/p99 latency of POST /jobs/:queue vs a bare Queue.add round trip.
 */
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { BULL_PREFIX, bullPrefix, createLogger, type Logger } from '@event-infra/shared';
import { median, percentile } from '../lib/stats';
import { BENCH_QUEUE as QUEUE, WORKER_OPTIONS, addNoopJobs, until, workerPathDrain } from '../lib/worker-drain';
import type { BenchRow, BenchSuite } from '../types';
import { loadConfig } from '../../queue-system/src/config';
import { startQueueProcessor } from '../../queue-system/src/service';

const CONCURRENCY = 100;

async function drainBare(url: string, queue: Queue, count: number): Promise<number> {
  await addNoopJobs(queue, count);
  let completed = 0;
  const connection = new Redis(url, { maxRetriesPerRequest: null });
  const started = performance.now();
  const worker = new Worker(QUEUE, async () => undefined, {
    connection,
    prefix: BULL_PREFIX,
    concurrency: CONCURRENCY,
    lockDuration: WORKER_OPTIONS.lockDurationMs,
    stalledInterval: WORKER_OPTIONS.stalledIntervalMs,
    maxStalledCount: WORKER_OPTIONS.maxStalledCount,
    removeOnComplete: { count: WORKER_OPTIONS.keepCompleted },
    removeOnFail: { count: WORKER_OPTIONS.keepFailed },
  });
  worker.on('completed', () => {
    completed += 1;
  });
  await until(() => completed >= count);
  const rate = count / ((performance.now() - started) / 1000);
  await worker.close();
  connection.disconnect();
  return rate;
}

async function drainProcessor(url: string, queue: Queue, count: number, logger: Logger): Promise<number> {
  await addNoopJobs(queue, count);
  return workerPathDrain(url, queue, count, { concurrency: CONCURRENCY, logger });
}

const suite: BenchSuite = {
  name: 'queue',
  async run({ redis, scale }): Promise<BenchRow[]> {
    const logger = createLogger({ service: 'bench', level: 'silent' });
    const admin = new Redis(redis.url, { maxRetriesPerRequest: null });
    const queue = new Queue(QUEUE, { connection: admin, prefix: bullPrefix(QUEUE, admin.isCluster) });
    const rows: BenchRow[] = [];

    // (a) drain, alternating bare/processor twice; best of each.
    const drainCount = Math.max(1000, Math.round(20_000 * scale));
    const bare: number[] = [];
    const ours: number[] = [];
    // Alternate which goes first: the machine is shared, load drifts between runs.
    for (let round = 0; round < 6; round += 1) {
      for (const side of round % 2 === 0 ? ['bare', 'ours'] : ['ours', 'bare']) {
        await admin.flushall();
        if (side === 'bare') bare.push(await drainBare(redis.url, queue, drainCount));
        else ours.push(await drainProcessor(redis.url, queue, drainCount, logger));
      }
    }
    rows.push({
      metric: `(a) worker path drain, ${drainCount} tiny jobs, concurrency ${CONCURRENCY}`,
      value: median(ours),
      unit: 'jobs/s',
      baseline: 'bare BullMQ Worker, empty processor',
      baselineValue: median(bare),
      target: 0.9,
      note: `medians of ${ours.length} alternating rounds; ours ${ours.map(Math.round).join('/')}, bare ${bare.map(Math.round).join('/')}`,
    });

    // (b) bulk over HTTP vs bare addBulk; (c) single POST latency.
    await admin.flushall();
    const config = loadConfig({
      LOG_LEVEL: 'silent',
      REDIS_URL: redis.url,
      REDIS_QUEUE_URL: redis.url,
      REDIS_STREAMS_URL: redis.url,
      QUEUE_PROCESSOR_PORT: '0',
      QUEUE_ENABLED: 'false',
      HTTP_BODY_LIMIT: '5mb',
    });
    const app = await startQueueProcessor(config, logger);
    try {
      const batches = Math.max(2, Math.round(20 * scale));
      const batch = Array.from({ length: 1000 }, (_, index) => ({ name: 'demo.sleep', data: { durationMs: 1, n: index } }));
      const body = JSON.stringify({ jobs: batch });
      // The options the processor stores per job (retries are part of the product); the plain
      // baseline without any options is reported too.
      const sameOpts = { attempts: config.RETRY_ATTEMPTS, backoff: { type: 'exponential', delay: config.RETRY_DELAY }, keepLogs: 100 };
      const batchWithOpts = batch.map((job) => ({ ...job, opts: sameOpts }));
      const bulkBare: number[] = [];
      const bulkPlain: number[] = [];
      const bulkOurs: number[] = [];
      // Alternating order and medians, as for (a).
      for (let round = 0; round < 5; round += 1) {
        const sides = round % 2 === 0 ? (['bare', 'plain', 'ours'] as const) : (['ours', 'plain', 'bare'] as const);
        for (const side of sides) {
          await admin.flushall();
          const started = performance.now();
          if (side === 'ours') {
            for (let index = 0; index < batches; index += 1) {
              const response = await fetch(`${app.url}/jobs/${QUEUE}/bulk`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
              if (response.status !== 201) throw new Error(`bulk answered ${response.status}: ${await response.text()}`);
              await response.arrayBuffer();
            }
          } else {
            for (let index = 0; index < batches; index += 1) await queue.addBulk(side === 'bare' ? batchWithOpts : batch);
          }
          const rate = (batches * 1000) / ((performance.now() - started) / 1000);
          (side === 'ours' ? bulkOurs : side === 'bare' ? bulkBare : bulkPlain).push(rate);
        }
      }
      rows.push({
        metric: `(b) POST /jobs/:queue/bulk, ${batches} x 1000 jobs`,
        value: median(bulkOurs),
        unit: 'jobs/s',
        baseline: 'bare Queue.addBulk, same batches and job options',
        baselineValue: median(bulkBare),
        target: 0.8,
        note: `medians of ${bulkOurs.length} alternating rounds; ours ${bulkOurs.map(Math.round).join('/')}, bare ${bulkBare.map(Math.round).join('/')}`,
      });
      rows.push({
        metric: `(b') POST /jobs/:queue/bulk, ${batches} x 1000 jobs`,
        value: median(bulkOurs),
        unit: 'jobs/s',
        baseline: 'bare Queue.addBulk without job options',
        baselineValue: median(bulkPlain),
        note: `informational: includes the cost of storing attempts/backoff per job; bare rounds ${bulkPlain.map(Math.round).join('/')}`,
      });

      await admin.flushall();
      const requests = Math.max(200, Math.round(2000 * scale));
      const single = JSON.stringify({ name: 'demo.sleep', data: { durationMs: 1 } });
      const latencies: number[] = [];
      const bareLatencies: number[] = [];
      for (let index = 0; index < requests; index += 1) {
        let started = performance.now();
        const response = await fetch(`${app.url}/jobs/${QUEUE}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: single });
        await response.arrayBuffer();
        if (response.status !== 201) throw new Error(`POST answered ${response.status}`);
        latencies.push(performance.now() - started);
        started = performance.now();
        await queue.add('demo.sleep', { durationMs: 1 });
        bareLatencies.push(performance.now() - started);
      }
      latencies.sort((a, b) => a - b);
      bareLatencies.sort((a, b) => a - b);
      for (const p of [50, 99]) {
        rows.push({
          metric: `(c) POST /jobs/:queue latency p${p}, ${requests} sequential`,
          value: percentile(latencies, p),
          unit: 'ms',
          baseline: `bare Queue.add p${p}`,
          baselineValue: percentile(bareLatencies, p),
          lowerIsBetter: true,
          target: p === 50 ? 5 : 50,
        });
      }
    } finally {
      await app.close();
      await queue.close();
      admin.disconnect();
    }
    return rows;
  },
};

export default suite;
