import { inject } from 'vitest';
import { Queue, type ConnectionOptions } from 'bullmq';
import {
  AuditLog,
  BULL_PREFIX,
  REDIS_ROLES,
  SERVICES,
  createMetricsRegistry,
  createRedis,
  waitForRedis,
  type Redis,
  type Registry,
} from '@event-infra/shared';
import { silentLogger, startRedisServer, uniqueName, type RedisServer } from '@event-infra/testing';
import { Alerter } from '../../src/core/alerter';
import { DlqHandler } from '../../src/core/dlq-handler';
import { createDlqMetrics } from '../../src/core/dlq-metrics';
import { DlqStore } from '../../src/core/dlq-store';
import { OriginSender } from '../../src/core/origin-sender';
import { RetryPolicy, type RetryPolicyOptions } from '../../src/core/retry-policy';
import { RetryQueue } from '../../src/core/retry-scheduler';

/** A DLQ handler wired from real parts, without the consumer, retry worker or tracker running. */
export interface HandlerParts {
  master: RedisServer;
  /** Producer client on `master`. */
  redis: Redis;
  /** Producer clients on the shared queue and streams Redis of the test run. */
  queueRedis: Redis;
  streamsRedis: Redis;
  /** Connection options for BullMQ workers and QueueEvents on the queue Redis (their own blocking connections). */
  connection: ConnectionOptions;
  store: DlqStore;
  registry: Registry;
  handler: DlqHandler;
  /** The scheduled-retry queue (its delayed jobs are read back by tests). */
  retries: RetryQueue;
  sender: OriginSender;
  alerter: Alerter;
  /** A new origin queue on the queue Redis (obliterated by `close`). */
  originQueue(prefix?: string): Queue;
  /** Value of one sample of the registry (`name{...labels...}`), 0 when absent. */
  metric(name: string, labels: string): Promise<number>;
  close(): Promise<void>;
}

/**
 * Its own master redis-server; origin queues and streams on the run's shared Redis; the real
 * policy, sender, alerter (no webhook, a long coalescing window) and metrics.
 */
export async function startHandlerParts(policy: RetryPolicyOptions): Promise<HandlerParts> {
  const logger = silentLogger();
  const master = await startRedisServer();
  const redis = createRedis({ url: master.url, role: REDIS_ROLES.master, profile: 'producer', logger });
  const queueRedis = createRedis({ url: inject('redis').queue, role: REDIS_ROLES.queue, profile: 'producer', logger });
  const streamsRedis = createRedis({ url: inject('redis').streams, role: REDIS_ROLES.streams, profile: 'producer', logger });
  await Promise.all([waitForRedis(redis, 'master'), waitForRedis(queueRedis, 'queue'), waitForRedis(streamsRedis, 'streams')]);
  const store = new DlqStore(redis);
  const registry = createMetricsRegistry(SERVICES.dlq);
  const metrics = createDlqMetrics(registry, store);
  const alerter = new Alerter({ windowMs: 60_000, historyMax: 100 }, { redis, store, metrics, logger });
  const sender = new OriginSender({ queueRedis, streamsRedis, logger, streamMaxLenApprox: 1000 });
  const retries = new RetryQueue({ dlqQueueName: uniqueName('dlq'), connection: queueRedis });
  const handler = new DlqHandler({
    store,
    policy: new RetryPolicy(policy),
    sender,
    alerter,
    metrics,
    scheduler: retries,
    audit: new AuditLog({ retentionMs: 86_400_000 }, redis),
    logger,
  });
  const queues: Queue[] = [];
  return {
    master,
    redis,
    queueRedis,
    streamsRedis,
    connection: connectionOf(inject('redis').queue),
    store,
    registry,
    handler,
    retries,
    sender,
    alerter,
    originQueue(prefix = 'origin') {
      const queue = new Queue(uniqueName(prefix), { connection: queueRedis, prefix: BULL_PREFIX });
      queues.push(queue);
      return queue;
    },
    async metric(name, labels) {
      const text = await registry.metrics();
      const line = text.split('\n').find((item) => item.startsWith(`${name}{`) && item.includes(labels));
      return line === undefined ? 0 : Number(line.split(' ').pop());
    },
    async close() {
      for (const queue of queues.splice(0)) {
        await queue.obliterate({ force: true });
        await queue.close();
      }
      await alerter.close();
      await sender.close();
      await retries.queue.obliterate({ force: true });
      await retries.close();
      redis.disconnect();
      queueRedis.disconnect();
      streamsRedis.disconnect();
      await master.stop();
    },
  };
}

/** BullMQ connection options for a `redis://[user:password@]host:port` URL. */
export function connectionOf(redisUrl: string): ConnectionOptions {
  const url = new URL(redisUrl);
  return {
    host: url.hostname,
    port: Number(url.port),
    ...(url.username !== '' ? { username: decodeURIComponent(url.username) } : {}),
    ...(url.password !== '' ? { password: decodeURIComponent(url.password) } : {}),
    maxRetriesPerRequest: null,
  };
}
