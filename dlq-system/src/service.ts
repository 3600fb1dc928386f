import { Queue } from 'bullmq';
import {
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
import type { DlqConfig } from './config';
import { createApp } from './http/app';

export interface DlqProcessor {
  url: string;
  close(): Promise<void>;
}

/** Composition: Redis clients, the DLQ queue, HTTP app on DLQ_PROCESSOR_PORT. */
export async function startDlqProcessor(config: DlqConfig, logger: Logger): Promise<DlqProcessor> {
  const clients = {
    [REDIS_ROLES.master]: connectRole(config, REDIS_ROLES.master, 'producer', logger),
    [REDIS_ROLES.streams]: connectRole(config, REDIS_ROLES.streams, 'producer', logger),
    [REDIS_ROLES.queue]: connectRole(config, REDIS_ROLES.queue, 'producer', logger),
  };
  try {
    await waitForAll(clients, config.REDIS_CONNECT_TIMEOUT_MS);
  } catch (caught) {
    await closeAll(Object.values(clients));
    throw caught;
  }
  const dlqQueue = new Queue(config.DLQ_QUEUE_NAME, { connection: clients[REDIS_ROLES.queue], prefix: BULL_PREFIX });
  const metrics = createMetricsRegistry(SERVICES.dlq);
  const app = createApp({
    logger,
    metrics,
    checks: redisChecks(clients),
    stats: async () => ({ queue: dlqQueue.name, counts: await dlqQueue.getJobCounts('waiting', 'active', 'completed', 'failed', 'delayed') }),
  });
  const server = await startHttpServer(app, config.DLQ_PROCESSOR_PORT, config.HTTP_HOST);
  logger.info({ url: server.url }, 'dlq processor listening');
  const close = createCloser(
    () => [
      { name: 'http', run: () => server.close() },
      { name: 'queue', run: () => dlqQueue.close() },
      { name: 'redis', run: () => closeAll(Object.values(clients)) },
    ],
    logger,
  );
  return { url: server.url, close };
}
