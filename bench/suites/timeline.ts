/**
 * Issue #15: what the timeline costs. Event drain (the event processor, noop handler, one loop)
 * and job drain (the worker path, noop handler, jobs that carry a `__trace`) with the timeline
 * off and on, alternated in the same run on the same Redis, medians. Targets: the timeline on
 * keeps at least 90 % of each drain's rate.
 */
import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import { Redis as IORedis } from 'ioredis';
import { bullPrefix, JOB_TRACE_KEY, TimelineRecorder, createDeadLetterSink, createEventPublisher, createRedis, type Redis } from '@event-infra/shared';
import { silentLogger } from '@event-infra/testing';
import { median } from '../lib/stats';
import type { BenchRow, BenchSuite } from '../types';
import { loadConfig } from '../../event-system/src/config';
import { startEventProcessor } from '../../event-system/src/service';
import { HandlerRegistry } from '../../queue-system/src/core/handler-registry';
import { createJobRunner } from '../../queue-system/src/core/job-runner';
import { startWorkerPool } from '../../queue-system/src/core/worker-pool';

const QUEUE = 'async-processing';
const WORKER_OPTIONS = { lockDurationMs: 30_000, stalledIntervalMs: 30_000, maxStalledCount: 2, keepCompleted: 1000, keepFailed: 5000 };

async function prefill(redis: Redis, stream: string, count: number): Promise<void> {
  const publisher = createEventPublisher({ stream, source: 'bench', maxLenApprox: 0 }, { redis, logger: silentLogger() });
  for (let done = 0; done < count; done += 1_000) {
    await publisher.publishBatch(
      Array.from({ length: Math.min(1_000, count - done) }, () => ({ type: 'workspace.created', data: { workspaceId: 'w-1', name: 'bench', ownerId: 'u-1' } })),
    );
  }
}

/** Event processor drain of `count` events as group `group`; events/s from the first handled one. */
async function eventDrain(url: string, stream: string, group: string, count: number, timeline: boolean): Promise<number> {
  const config = loadConfig({
    REDIS_URL: url,
    REDIS_STREAMS_URL: url,
    REDIS_QUEUE_URL: url,
    EVENT_PROCESSOR_PORT: '0',
    LOG_LEVEL: 'silent',
    EVENT_BATCH_SIZE: '100',
    EVENT_CONSUMERS: '1',
    EVENT_SCALE_INTERVAL_MS: '0',
    EVENT_TRIM_INTERVAL_MS: '0',
    EVENT_FANOUT_ENABLED: 'false',
    STREAM_NAME: stream,
    CONSUMER_GROUP: group,
    TIMELINE_ENABLED: String(timeline),
  });
  let handled = 0;
  let started = 0;
  let finish!: (ms: number) => void;
  const finished = new Promise<number>((resolve) => (finish = resolve));
  const processor = await startEventProcessor(config, silentLogger(), {
    configure: (router) =>
      router.on('*', 'noop', async () => {
        handled += 1;
        if (handled === 1) started = performance.now();
        if (handled === count) finish(performance.now() - started);
      }),
  });
  try {
    return (count - 1) / ((await finished) / 1_000);
  } finally {
    await processor.close();
  }
}

/** Worker-path drain of `count` traced noop jobs, with or without a timeline recorder. */
async function jobDrain(url: string, queue: Queue, count: number, timeline: boolean): Promise<number> {
  for (let added = 0; added < count; added += 1000) {
    await queue.addBulk(
      Array.from({ length: Math.min(1000, count - added) }, (_, index) => ({
        name: 'bench.noop',
        data: { n: added + index, [JOB_TRACE_KEY]: { correlationId: randomUUID() } },
      })),
    );
  }
  const logger = silentLogger();
  let completed = 0;
  const registry = new HandlerRegistry().register({ name: 'bench.noop', handler: () => undefined });
  const sinkConnection = new IORedis(url, { maxRetriesPerRequest: null });
  const masterConnection = new IORedis(url, { maxRetriesPerRequest: null });
  const recorder = timeline ? new TimelineRecorder({ service: 'bench', retentionSec: 600, maxSteps: 200 }, { redis: masterConnection, logger }) : undefined;
  const deadLetters = createDeadLetterSink({ queueName: 'dead-letter-queue', connection: sinkConnection });
  const observer = {
    finished(_queue: string, _name: string, status: 'completed' | 'failed') {
      if (status === 'completed') completed += 1;
    },
  };
  const started = performance.now();
  const pool = await startWorkerPool(
    { queues: [{ name: QUEUE, concurrency: 100 }], ...WORKER_OPTIONS },
    {
      connect: () => new IORedis(url, { maxRetriesPerRequest: null }),
      runnerFor: (name) => createJobRunner({ queue: name, maxTimeoutMs: 3_600_000 }, { registry, deadLetters, observer, logger, timeline: recorder }),
      deadLetters,
      logger,
    },
  );
  while (completed < count) await new Promise((resolve) => setTimeout(resolve, 2));
  while (((await queue.getJobCounts('active')).active ?? 0) > 0) await new Promise((resolve) => setTimeout(resolve, 2));
  const rate = count / ((performance.now() - started) / 1000);
  await pool.close(5_000);
  await recorder?.close();
  await deadLetters.close();
  sinkConnection.disconnect();
  masterConnection.disconnect();
  return rate;
}

const suite: BenchSuite = {
  name: 'timeline',
  async run({ redis, scale }): Promise<BenchRow[]> {
    const url = redis.url;
    const rows: BenchRow[] = [];
    const client = createRedis({ url, role: 'bench', profile: 'consumer', logger: silentLogger() });
    const admin = new IORedis(url, { maxRetriesPerRequest: null });
    const queue = new Queue(QUEUE, { connection: admin, prefix: bullPrefix(QUEUE, admin.isCluster) });
    try {
      const events = Math.max(1_000, Math.round(50_000 * scale));
      const stream = `bench-timeline-${randomUUID()}`;
      await prefill(client, stream, events);
      const eventsOff: number[] = [];
      const eventsOn: number[] = [];
      for (const round of [1, 2, 3]) {
        const order = round % 2 === 1 ? [false, true] : [true, false];
        for (const on of order) (on ? eventsOn : eventsOff).push(await eventDrain(url, stream, `g-${round}-${on ? 'on' : 'off'}`, events, on));
      }
      rows.push({
        metric: `event drain ${events} events, timeline on`,
        value: median(eventsOn),
        unit: 'events/s',
        baseline: 'same drain, TIMELINE_ENABLED=false',
        baselineValue: median(eventsOff),
        target: 0.9,
        note: `medians of 3 alternated runs; on ${eventsOn.map(Math.round).join('/')}, off ${eventsOff.map(Math.round).join('/')}`,
      });

      const jobs = Math.max(1_000, Math.round(20_000 * scale));
      const jobsOff: number[] = [];
      const jobsOn: number[] = [];
      for (let round = 0; round < 4; round += 1) {
        for (const on of round % 2 === 0 ? [false, true] : [true, false]) {
          await admin.flushall();
          (on ? jobsOn : jobsOff).push(await jobDrain(url, queue, jobs, on));
        }
      }
      rows.push({
        metric: `job drain ${jobs} traced jobs, concurrency 100, timeline on`,
        value: median(jobsOn),
        unit: 'jobs/s',
        baseline: 'same drain without a timeline recorder',
        baselineValue: median(jobsOff),
        target: 0.9,
        note: `medians of 4 alternated rounds; on ${jobsOn.map(Math.round).join('/')}, off ${jobsOff.map(Math.round).join('/')}`,
      });
    } finally {
      await queue.close();
      admin.disconnect();
      client.disconnect();
    }
    return rows;
  },
};

export default suite;
