import { afterAll, beforeAll } from 'vitest';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { bullPrefix, type Logger } from '@event-infra/shared';
import { startRedisServer, silentLogger, uniqueName, type RedisServer } from '@event-infra/testing';
import { loadConfig } from '../../src/config';
import { startQueueProcessor, type QueueProcessor } from '../../src/service';

/**
 * One test file = one redis-server (the queue names are fixed, so files running in parallel
 * would otherwise take each other's jobs). The same server plays queue and streams Redis.
 */
export async function startTestRedis(): Promise<RedisServer> {
  return startRedisServer();
}

/** Environment for a processor on `redis` with quick retries, on port 0. */
export function testEnv(redis: RedisServer, overrides: Record<string, string> = {}): Record<string, string> {
  return {
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    REDIS_URL: redis.url,
    REDIS_QUEUE_URL: redis.url,
    REDIS_STREAMS_URL: redis.url,
    STREAM_NAME: uniqueName('events'),
    QUEUE_PROCESSOR_PORT: '0',
    RETRY_ATTEMPTS: '3',
    RETRY_DELAY: '20',
    SHUTDOWN_GRACE_MS: '5000',
    ...overrides,
  };
}

export interface StartedProcessor extends QueueProcessor {
  env: Record<string, string>;
}

export async function startProcessor(
  redis: RedisServer,
  overrides: Record<string, string> = {},
  logger: Logger = silentLogger(),
): Promise<StartedProcessor> {
  const env = testEnv(redis, overrides);
  const processor = await startQueueProcessor(loadConfig(env), logger);
  return { ...processor, env };
}

/** Plain BullMQ queues on `redis` to look at jobs directly; close them after use. */
export function inspectQueues(redis: RedisServer): { connection: Redis; queue: (name: string) => Queue; close: () => Promise<void> } {
  const connection = new Redis(redis.url, { maxRetriesPerRequest: null });
  const queues = new Map<string, Queue>();
  return {
    connection,
    queue(name) {
      let queue = queues.get(name);
      if (!queue) {
        queue = new Queue(name, { connection, prefix: bullPrefix(name, connection.isCluster) });
        queues.set(name, queue);
      }
      return queue;
    },
    async close() {
      await Promise.all([...queues.values()].map((queue) => queue.close()));
      connection.disconnect();
    },
  };
}

/** Empties every queue between tests. */
export async function flushQueues(connection: Redis): Promise<void> {
  await connection.flushall();
}

/** JSON request helper against a running app. */
export async function request(
  baseUrl: string,
  method: string,
  path: string,
  options: { body?: unknown; rawBody?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; body: any; headers: Headers }> {
  const headers: Record<string, string> = { ...(options.headers ?? {}) };
  let payload: string | undefined = options.rawBody;
  if (options.body !== undefined) {
    payload = JSON.stringify(options.body);
    headers['content-type'] ??= 'application/json';
  }
  const response = await fetch(`${baseUrl}${path}`, { method, headers, body: payload });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // Not JSON (Prometheus text, HTML): keep the text.
  }
  return { status: response.status, body, headers: response.headers };
}

/** What `processorPerFile` starts: set in its `beforeAll`, stopped in its `afterAll`. */
export interface FileProcessor {
  redis: RedisServer;
  app: StartedProcessor;
  inspect: ReturnType<typeof inspectQueues>;
}

/**
 * The set-up most HTTP test files share, as `beforeAll` / `afterAll` hooks of the calling
 * block: one redis-server for the file, one queue processor on it (`overrides` as for
 * `startProcessor`; `logger` made when the hooks run) and plain queues to inspect it.
 */
export function processorPerFile(overrides: Record<string, string>, logger: () => Logger = silentLogger): FileProcessor {
  const started = {} as FileProcessor;
  beforeAll(async () => {
    started.redis = await startTestRedis();
    started.app = await startProcessor(started.redis, overrides, logger());
    started.inspect = inspectQueues(started.redis);
  });
  afterAll(async () => {
    await started.app?.close();
    await started.inspect?.close();
    await started.redis?.stop();
  });
  return started;
}
