import { Queue } from 'bullmq';
import {
  ALL_QUEUES,
  BULL_PREFIX,
  REDIS_ROLES,
  SERVICES,
  closeAll,
  connectRole,
  createCloser,
  createMetricsRegistry,
  redisChecks,
  startHttpServer,
  waitForAll,
  type Logger,
} from '@event-infra/shared';
import type { QueueConfig } from './config';
import { createApp } from './http/app';

export interface QueueProcessor {
  url: string;
  close(): Promise<void>;
}

/** Composition: Redis clients, queues, HTTP app. Listens on QUEUE_PROCESSOR_PORT. */
export async function startQueueProcessor(config: QueueConfig, logger: Logger): Promise<QueueProcessor> {
  const queueRedis = connectRole(config, REDIS_ROLES.queue, 'producer', logger);
  const streamsRedis = connectRole(config, REDIS_ROLES.streams, 'producer', logger);
  const clients = { [REDIS_ROLES.queue]: queueRedis, [REDIS_ROLES.streams]: streamsRedis };
  try {
    await waitForAll(clients, config.REDIS_CONNECT_TIMEOUT_MS);
  } catch (caught) {
    await closeAll(Object.values(clients));
    throw caught;
  }
  const queues = ALL_QUEUES.map(
    (name) => new Queue(name === 'dead-letter-queue' ? config.DLQ_QUEUE_NAME : name, { connection: queueRedis, prefix: BULL_PREFIX }),
  );
  const metrics = createMetricsRegistry(SERVICES.queue);
  const app = createApp({ logger, metrics, checks: redisChecks(clients), queues });
  const server = await startHttpServer(app, config.QUEUE_PROCESSOR_PORT, config.HTTP_HOST);
  logger.info({ url: server.url }, 'queue processor listening');
  const close = createCloser(
    () => [
      { name: 'http', run: () => server.close() },
      { name: 'queues', run: async () => void (await Promise.allSettled(queues.map((queue) => queue.close()))) },
      { name: 'redis', run: () => closeAll(Object.values(clients)) },
    ],
    logger,
  );
  return { url: server.url, close };
}
