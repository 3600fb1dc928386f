/**
 * The processes of the stack benchmark: the three services with their bench settings, and
 * the baseline children (bare BullMQ worker, bare stream readers), each on its Redis.
 */
import { fileURLToPath } from 'node:url';
import { BULL_PREFIX, bullPrefix } from '@event-infra/shared';
import { freePort, type RedisServer } from '@event-infra/testing';
import { spawnChild, type BenchChild } from './child';

/** Worker concurrency of the queue processor and of the bare worker. */
export const CONCURRENCY = 100;
export const BARE_QUEUE = 'bench-bare-drain';
/** Queue of the drain-only bare worker (the baseline before the bare worker took the intake too). */
export const BARE_DRAIN_ONLY_QUEUE = 'bench-bare-drain-only';
/** Queue of the HTTP intake (no worker in the stack suite) and of the bare worker's intake. */
export const INTAKE_QUEUE = 'long-running-jobs';
export const EVENT_STREAM = 'bench-stack-events';
export const BARE_STREAM = 'bench-stack-bare';
export const BARE_LATENCY_STREAM = 'bench-stack-bare-latency';
/** Channel on the master where the bare latency reader PUBLISHes each id it read. */
export const BARE_CHANNEL = 'bench:handled';
/** RETRY_ATTEMPTS / RETRY_DELAY given to the services (the intake baseline stores the same). */
export const RETRY = { attempts: 3, delay: 60_000 };
const HANDLERS = fileURLToPath(new URL('../dist/fixtures/noop-handlers.js', import.meta.url));

export interface Stack {
  queueProcessor: BenchChild;
  eventProcessor: BenchChild;
  dlqProcessor: BenchChild;
  /** Bare peer of the queue processor: the same drain and the same bulk intake (over stdin). */
  bareWorker: BenchChild;
  /** The bare worker as it was before it took the intake: drain only (the old baseline). */
  bareDrainWorker: BenchChild;
  bareReader: BenchChild;
  bareLatencyReader: BenchChild;
  queueUrl: string;
}

/** Starts every child and waits until each is ready; on failure stops those already started. */
export async function startStack(master: RedisServer, streams: RedisServer, queue: RedisServer): Promise<Stack> {
  const [queuePort, eventPort, dlqPort] = [await freePort(), await freePort(), await freePort()];
  const common = {
    REDIS_URL: master.url,
    REDIS_STREAMS_URL: streams.url,
    REDIS_QUEUE_URL: queue.url,
    HTTP_HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    RETRY_ATTEMPTS: String(RETRY.attempts),
    RETRY_DELAY: String(RETRY.delay),
    // `TIMELINE_ENABLED=true npm run bench -- stack`: the same stack with the timeline on (issue #15's memory check).
    ...(process.env.TIMELINE_ENABLED !== undefined ? { TIMELINE_ENABLED: process.env.TIMELINE_ENABLED } : {}),
  };
  const started: BenchChild[] = [];
  const start = async (...args: Parameters<typeof spawnChild>): Promise<BenchChild> => {
    const child = await spawnChild(...args);
    started.push(child);
    return child;
  };
  try {
    const queueProcessor = await start({
      name: 'queue processor',
      flags: 'queue',
      entry: 'queue-system/src/main.ts',
      healthUrl: `http://127.0.0.1:${queuePort}/health`,
      env: {
        ...common,
        QUEUE_PROCESSOR_PORT: String(queuePort),
        PUBLISH_EVENTS: 'false',
        LONG_RUNNING_JOBS_ENABLED: 'false',
        CONCURRENCY_ASYNC_PROCESSING: String(CONCURRENCY),
        JOB_HANDLERS_MODULE: HANDLERS,
        HTTP_BODY_LIMIT: '5mb',
      },
    });
    const eventProcessor = await start({
      name: 'event processor',
      flags: 'event',
      entry: 'event-system/src/main.ts',
      healthUrl: `http://127.0.0.1:${eventPort}/health`,
      // One consumer loop, no autoscaling: like for like with the one bare loop. Duplicate
      // suppression and fan-out stay on (defaults), so "handled" is the product's full path.
      env: { ...common, EVENT_PROCESSOR_PORT: String(eventPort), STREAM_NAME: EVENT_STREAM, EVENT_CONSUMERS: '1', EVENT_SCALE_INTERVAL_MS: '0' },
    });
    const dlqProcessor = await start({
      name: 'DLQ processor',
      flags: 'dlq',
      entry: 'dlq-system/src/main.ts',
      healthUrl: `http://127.0.0.1:${dlqPort}/health`,
      env: { ...common, DLQ_PROCESSOR_PORT: String(dlqPort) },
    });
    const bareWorker = await start({
      name: 'bare worker',
      flags: 'queue',
      entry: 'bench/fixtures/bare-worker.ts',
      requests: true,
      env: {
        BENCH_REDIS_URL: queue.url,
        BENCH_QUEUE: BARE_QUEUE,
        BENCH_PREFIX: BULL_PREFIX,
        BENCH_CONCURRENCY: String(CONCURRENCY),
        BENCH_INTAKE_QUEUE: INTAKE_QUEUE,
        BENCH_INTAKE_PREFIX: bullPrefix(INTAKE_QUEUE, false),
        BENCH_INTAKE_ATTEMPTS: String(RETRY.attempts),
        BENCH_INTAKE_BACKOFF_MS: String(RETRY.delay),
      },
    });
    const bareDrainWorker = await start({
      name: 'bare worker, drain only',
      flags: 'queue',
      entry: 'bench/fixtures/bare-worker.ts',
      env: { BENCH_REDIS_URL: queue.url, BENCH_QUEUE: BARE_DRAIN_ONLY_QUEUE, BENCH_PREFIX: BULL_PREFIX, BENCH_CONCURRENCY: String(CONCURRENCY) },
    });
    const bareReader = await start({
      name: 'bare reader',
      flags: 'event',
      entry: 'bench/fixtures/bare-reader.ts',
      env: { BENCH_REDIS_URL: streams.url, BENCH_STREAM: BARE_STREAM, BENCH_GROUP: 'bare' },
    });
    const bareLatencyReader = await start({
      name: 'bare latency reader',
      flags: 'event',
      entry: 'bench/fixtures/bare-reader.ts',
      env: { BENCH_REDIS_URL: streams.url, BENCH_STREAM: BARE_LATENCY_STREAM, BENCH_GROUP: 'bare', BENCH_NOTIFY_URL: master.url, BENCH_NOTIFY_CHANNEL: BARE_CHANNEL },
    });
    return { queueProcessor, eventProcessor, dlqProcessor, bareWorker, bareDrainWorker, bareReader, bareLatencyReader, queueUrl: `http://127.0.0.1:${queuePort}` };
  } catch (caught) {
    await Promise.allSettled(started.map((child) => child.stop()));
    throw caught;
  }
}

