import { Queue } from 'bullmq';
import { afterEach, inject } from 'vitest';
import { bullPrefix, createEventPublisher, createRedis, type EventInput, type Redis } from '@event-infra/shared';
import { silentLogger, uniqueName } from '@event-infra/testing';
import { loadConfig, type EventConfig } from '../src/config';
import type { Router } from '../src/core/router';
import { startEventProcessor, type EventProcessor } from '../src/service';

/** Environment for a processor on the test Redis stack, isolated by unique names. */
export function testEnv(overrides: Record<string, string> = {}): Record<string, string> {
  const redis = inject('redis');
  return {
    REDIS_URL: redis.master,
    REDIS_STREAMS_URL: redis.streams,
    REDIS_QUEUE_URL: redis.queue,
    STREAM_NAME: uniqueName('stream'),
    CONSUMER_GROUP: uniqueName('group'),
    DLQ_QUEUE_NAME: uniqueName('dlq'),
    EVENT_PROCESSOR_PORT: '0',
    LOG_LEVEL: 'silent',
    EVENT_CONSUMERS: '1',
    EVENT_BLOCK_MS: '200',
    EVENT_CLAIM_INTERVAL_MS: '100',
    EVENT_CLAIM_IDLE_MS: '300',
    EVENT_SCALE_INTERVAL_MS: '0',
    EVENT_TRIM_INTERVAL_MS: '0',
    EVENT_FANOUT_ENABLED: 'false',
    ...overrides,
  };
}

export interface TestProcessor extends EventProcessor {
  config: EventConfig;
}

/** Starts a real processor (service composition) with extra handlers. Remember to close it. */
export async function startTestProcessor(env: Record<string, string>, configure?: (router: Router) => void): Promise<TestProcessor> {
  const config = loadConfig(env);
  const processor = await startEventProcessor(config, silentLogger(), configure ? { configure } : {});
  return { ...processor, config };
}

/** A plain client on one of the test Redis instances. */
export function testClient(role: 'master' | 'streams' | 'queue'): Redis {
  return createRedis({ url: inject('redis')[role], role, profile: 'consumer', logger: silentLogger() });
}

/** Publisher to `stream` on the test streams Redis. */
export function testPublisher(redis: Redis, stream: string) {
  return createEventPublisher({ stream, source: 'test' }, { redis, logger: silentLogger() });
}

export function workspaceCreated(name = 'w'): EventInput {
  return { type: 'workspace.created', data: { workspaceId: `ws-${name}`, name, ownerId: 'u-1' } };
}

export function userEvent(): EventInput {
  return { type: 'user.created', data: { userId: 'u-1', email: 'a@example.com' } };
}

/** Jobs of a BullMQ queue on the test queue Redis, any state. */
export async function queueJobs(connection: Redis, name: string) {
  const queue = new Queue(name, { connection, prefix: bullPrefix(name, connection.isCluster) });
  try {
    return await queue.getJobs(['waiting', 'active', 'completed', 'failed', 'delayed', 'prioritized']);
  } finally {
    await queue.close();
  }
}

/** Pending count of `group` on `stream`. */
export async function pendingCount(redis: Redis, stream: string, group: string): Promise<number> {
  const summary = (await redis.xpending(stream, group)) as [number, ...unknown[]];
  return Number(summary[0]);
}

/**
 * Per-test cleanup shared by the test files: what a test pushes on `open` is closed, and
 * every client made by `client(role)` is quit, after each test.
 */
export function useTestResources(): { open: { close(): Promise<void> }[]; client: (role: 'master' | 'streams' | 'queue') => Redis } {
  const open: { close(): Promise<void> }[] = [];
  const clients: Redis[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((item) => item.close()));
    await Promise.all(clients.splice(0).map((redis) => redis.quit()));
  });
  return {
    open,
    client(role) {
      const redis = testClient(role);
      clients.push(redis);
      return redis;
    },
  };
}
