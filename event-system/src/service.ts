import {
  REDIS_ROLES,
  SERVICES,
  closeAll,
  connectRole,
  createCloser,
  createDeadLetterSink,
  createMetricsRegistry,
  redisChecks,
  startHttpServer,
  waitForAll,
  type Logger,
} from '@event-infra/shared';
import type { EventConfig } from './config';
import { defaultConsumerName } from './core/consumer-name';
import { StreamConsumer } from './core/stream-consumer';
import { createApp } from './http/app';

export interface EventProcessor {
  url: string;
  consumer: StreamConsumer;
  close(): Promise<void>;
}

/** Composition: Redis clients, the consumer loop, HTTP app on EVENT_PROCESSOR_PORT. */
export async function startEventProcessor(config: EventConfig, logger: Logger): Promise<EventProcessor> {
  const streamsReader = connectRole(config, REDIS_ROLES.streams, 'consumer', logger, 'reader');
  const streamsRedis = connectRole(config, REDIS_ROLES.streams, 'producer', logger);
  const masterRedis = connectRole(config, REDIS_ROLES.master, 'producer', logger);
  const queueRedis = connectRole(config, REDIS_ROLES.queue, 'consumer', logger);
  const all = [streamsReader, streamsRedis, masterRedis, queueRedis];
  const checks = redisChecks({
    [REDIS_ROLES.master]: masterRedis,
    [REDIS_ROLES.streams]: streamsRedis,
    [REDIS_ROLES.queue]: queueRedis,
  });
  try {
    await waitForAll({ [REDIS_ROLES.streams]: streamsReader, [REDIS_ROLES.master]: masterRedis, [REDIS_ROLES.queue]: queueRedis }, config.REDIS_CONNECT_TIMEOUT_MS);
  } catch (caught) {
    await closeAll(all);
    throw caught;
  }
  const dlq = createDeadLetterSink({ queueName: config.DLQ_QUEUE_NAME, connection: queueRedis });
  const consumerName = config.CONSUMER_NAME ?? defaultConsumerName();
  const consumer = new StreamConsumer(
    { stream: config.STREAM_NAME, group: config.CONSUMER_GROUP, consumer: consumerName, batchSize: config.EVENT_BATCH_SIZE, blockMs: config.EVENT_BLOCK_MS },
    { redis: streamsReader, logger, dlq, handle: async () => undefined },
  );
  if (config.EVENT_BUS_ENABLED) await consumer.start();
  const metrics = createMetricsRegistry(SERVICES.event);
  const app = createApp({ logger, metrics, checks, stats: () => ({ consumer: consumerName, group: config.CONSUMER_GROUP, stream: config.STREAM_NAME, counters: consumer.counters }) });
  const server = await startHttpServer(app, config.EVENT_PROCESSOR_PORT, config.HTTP_HOST);
  logger.info({ url: server.url, consumer: consumerName }, 'event processor listening');
  const close = createCloser(
    () => [
      { name: 'http', run: () => server.close() },
      { name: 'consumer', run: () => consumer.close() },
      { name: 'dlq', run: () => dlq.close() },
      { name: 'redis', run: () => closeAll(all) },
    ],
    logger,
  );
  return { url: server.url, consumer, close };
}
