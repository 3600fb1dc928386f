import {
  REDIS_ROLES,
  SERVICES,
  closeAll,
  closeRedis,
  connectRole,
  createCloser,
  createTimelineRecorder,
  createDeadLetterSink,
  createMetricsRegistry,
  redisChecks,
  startHttpServer,
  httpServerLimitsOf,
  waitForAll,
  type Logger,
  type Redis,
} from '@event-infra/shared';
import type { EventConfig } from './config';
import { defaultConsumerName } from './core/consumer-name';
import { createEventEngine, type EventEngine } from './core/event-engine';
import { createFanOutHandler } from './core/fan-out';
import { Router } from './core/router';
import { createTriggerHandler, loadTriggersFile } from './core/triggers';
import { createApp } from './http/app';

export interface EventProcessor {
  url: string;
  engine: EventEngine;
  router: Router;
  close(): Promise<void>;
}

export interface EventProcessorExtras {
  /** Registers extra handlers before the consumers start (tests, embedding). */
  configure?: (router: Router) => void;
}

/** The engine's options from the environment. */
export function engineOptions(config: EventConfig, consumerBaseName: string) {
  return {
    stream: config.STREAM_NAME,
    group: config.CONSUMER_GROUP,
    consumerBaseName,
    batchSize: config.EVENT_BATCH_SIZE,
    blockMs: config.EVENT_BLOCK_MS,
    consumers: { initial: config.EVENT_CONSUMERS, min: config.EVENT_CONSUMERS_MIN, max: config.EVENT_CONSUMERS_MAX },
    scaling: {
      intervalMs: config.EVENT_SCALE_INTERVAL_MS,
      upLag: config.EVENT_SCALE_UP_LAG,
      downLag: config.EVENT_SCALE_DOWN_LAG,
      sustainMs: config.EVENT_SCALE_SUSTAIN_MS,
    },
    retryAttempts: config.RETRY_ATTEMPTS,
    claim: { idleMs: config.EVENT_CLAIM_IDLE_MS, intervalMs: config.EVENT_CLAIM_INTERVAL_MS, cleanupIdleMs: config.EVENT_CONSUMER_CLEANUP_IDLE_MS },
    dedupe: { enabled: config.EVENT_DEDUPE_ENABLED, windowMs: config.EVENT_DEDUPE_WINDOW_MS },
    trim: {
      intervalMs: config.EVENT_TRIM_INTERVAL_MS,
      maxLenApprox: config.STREAM_MAXLEN_APPROX,
      alertRatio: config.EVENT_CAP_ALERT_RATIO,
      pendingAlertAgeMs: config.EVENT_PENDING_ALERT_AGE_MS,
    },
    maxEntryBytes: config.EVENT_MAX_ENTRY_BYTES,
    service: SERVICES.event,
  };
}

/**
 * Composition: Redis clients, router with the built-in handlers (fan-out, triggers), the
 * engine (consumer loops, reclaimer, janitor, autoscaler), HTTP app on EVENT_PROCESSOR_PORT.
 */
export async function startEventProcessor(config: EventConfig, logger: Logger, extras: EventProcessorExtras = {}): Promise<EventProcessor> {
  // Read the triggers file first: a bad file stops the start before any connection is made.
  const triggers = config.EVENT_TRIGGERS_FILE ? loadTriggersFile(config.EVENT_TRIGGERS_FILE) : [];
  const streamsRedis = connectRole(config, REDIS_ROLES.streams, 'producer', logger);
  const masterRedis = connectRole(config, REDIS_ROLES.master, 'producer', logger);
  const queueRedis = connectRole(config, REDIS_ROLES.queue, 'consumer', logger);
  const all = [streamsRedis, masterRedis, queueRedis];
  try {
    await waitForAll({ [REDIS_ROLES.streams]: streamsRedis, [REDIS_ROLES.master]: masterRedis, [REDIS_ROLES.queue]: queueRedis }, config.REDIS_CONNECT_TIMEOUT_MS);
  } catch (caught) {
    await closeAll(all);
    throw caught;
  }
  const checks = redisChecks({ [REDIS_ROLES.master]: masterRedis, [REDIS_ROLES.streams]: streamsRedis, [REDIS_ROLES.queue]: queueRedis });
  const dlq = createDeadLetterSink({ queueName: config.DLQ_QUEUE_NAME, connection: queueRedis });
  const timeline = createTimelineRecorder(config, SERVICES.event, { redis: masterRedis, logger });
  const triggerHandler = createTriggerHandler(queueRedis, timeline);
  const router = new Router();
  if (config.EVENT_FANOUT_ENABLED) router.on('*', 'fan-out', createFanOutHandler(masterRedis));
  for (const trigger of triggers) router.on(trigger.on, `trigger:${trigger.name}`, triggerHandler.handlerFor(trigger));
  extras.configure?.(router);

  const metrics = createMetricsRegistry(SERVICES.event);
  const consumerBaseName = config.CONSUMER_NAME ?? defaultConsumerName();
  const engine = createEventEngine(engineOptions(config, consumerBaseName), {
    streams: streamsRedis,
    master: masterRedis,
    openReader: (consumer: string): Redis => connectRole(config, REDIS_ROLES.streams, 'consumer', logger, consumer),
    closeReader: (redis: Redis) => closeRedis(redis),
    router,
    dlq,
    registry: metrics,
    logger,
    timeline,
  });
  const app = createApp({ logger, metrics, checks, stats: engine.stats });
  const server = await startHttpServer(app, config.EVENT_PROCESSOR_PORT, config.HTTP_HOST, httpServerLimitsOf(config));
  const close = createCloser(
    () => [
      { name: 'http', run: () => server.close() },
      { name: 'engine', run: () => engine.close() },
      { name: 'triggers', run: () => triggerHandler.close() },
      { name: 'dlq', run: () => dlq.close() },
      { name: 'timeline', run: () => timeline?.close() },
      { name: 'redis', run: () => closeAll(all) },
    ],
    logger,
  );
  try {
    if (config.EVENT_BUS_ENABLED) await engine.start();
  } catch (caught) {
    await close();
    throw caught;
  }
  logger.info({ url: server.url, consumer: consumerBaseName, handlers: router.describe(), busEnabled: config.EVENT_BUS_ENABLED }, 'event processor listening');
  return { url: server.url, engine, router, close };
}
