import {
  bodyBudgetOf,
  REDIS_ROLES,
  SERVICES,
  accessOf,
  closeAll,
  closeRedis,
  connectRole,
  createCloser,
  createAccessMetrics,
  createTimelineRecorder,
  startTracing,
  createDeadLetterSink,
  createMetricsRegistry,
  redisChecks,
  startHttpServer,
  httpServerLimitsOf,
  waitForAll,
  type Logger,
  type RedisClient,
} from '@event-infra/shared';
import type { Express } from 'express';
import type { EventConfig } from './config';
import { defaultConsumerName } from './core/consumer-name';
import { createEventEngine, type EventEngine, type EventEngineDeps, type EventStats } from './core/event-engine';
import { createPartitionedEngine, type PartitionedEngine, type PartitionedStats } from './core/partition/partitioned-engine';
import { createFanOutHandler } from './core/fan-out';
import { Router } from './core/router';
import { ReplayPlanner } from './core/replay/replay-planner';
import { ReplayRunner } from './core/replay/replay-runner';
import { ReplayTaskStore } from './core/replay/replay-task';
import { createTriggerHandler, loadTriggersFile } from './core/triggers';
import { createApp } from './http/app';

/** What the composition needs of an engine (single stream or partitioned). */
export interface LogEngine {
  /** The streams of the log (the partitions, or the one stream). */
  readonly streams: readonly string[];
  start(): Promise<void>;
  stats(): Promise<EventStats | PartitionedStats>;
  close(): Promise<void>;
}

export interface ProcessorOf<E extends LogEngine> {
  url: string;
  /** The HTTP app (tests walk its routes against the route table). */
  app: Express;
  engine: E;
  router: Router;
  replay: ReplayRunner;
  close(): Promise<void>;
}

/** The processor on one stream (STREAM_PARTITIONS=1). */
export type EventProcessor = ProcessorOf<EventEngine & LogEngine>;
/** The processor on STREAM_PARTITIONS > 1 partitions. */
export type PartitionedEventProcessor = ProcessorOf<PartitionedEngine>;

/** The clients and collaborators both engines are built from. */
interface EngineBase {
  config: EventConfig;
  consumerBaseName: string;
  deps: Omit<EventEngineDeps, 'registry'> & { registry: ReturnType<typeof createMetricsRegistry> };
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
      retentionMs: config.STREAM_RETENTION_MS,
      retentionMaxLen: config.STREAM_RETENTION_MAXLEN,
    },
    maxEntryBytes: config.EVENT_MAX_ENTRY_BYTES,
    service: SERVICES.event,
  };
}

/** The processor STREAM_PARTITIONS asks for (the entry point's choice). */
export function startConfiguredProcessor(config: EventConfig, logger: Logger, extras: EventProcessorExtras = {}): Promise<ProcessorOf<LogEngine>> {
  return config.STREAM_PARTITIONS > 1 ? startPartitionedEventProcessor(config, logger, extras) : startEventProcessor(config, logger, extras);
}

/** The processor on the single stream STREAM_NAME (consumer loops, reclaimer, janitor, autoscaler). */
export function startEventProcessor(config: EventConfig, logger: Logger, extras: EventProcessorExtras = {}): Promise<EventProcessor> {
  if (config.STREAM_PARTITIONS > 1) throw new Error('STREAM_PARTITIONS > 1: use startPartitionedEventProcessor');
  return startProcessor(config, logger, extras, ({ config: c, consumerBaseName, deps }) => {
    const engine = createEventEngine(engineOptions(c, consumerBaseName), deps);
    return Object.assign(engine, { streams: [c.STREAM_NAME] as const });
  });
}

/** The processor on STREAM_PARTITIONS partitions (leases, one reader per partition, per-key order). */
export function startPartitionedEventProcessor(config: EventConfig, logger: Logger, extras: EventProcessorExtras = {}): Promise<PartitionedEventProcessor> {
  return startProcessor(config, logger, extras, ({ config: c, consumerBaseName, deps }) =>
    createPartitionedEngine({ ...engineOptions(c, consumerBaseName), partitions: c.STREAM_PARTITIONS, leaseMs: c.EVENT_PARTITION_LEASE_MS }, deps),
  );
}

/**
 * Composition: Redis clients, router with the built-in handlers (fan-out, triggers), the
 * engine `makeEngine` builds, the replay runner, HTTP app on EVENT_PROCESSOR_PORT.
 */
async function startProcessor<E extends LogEngine>(config: EventConfig, logger: Logger, extras: EventProcessorExtras, makeEngine: (base: EngineBase) => E): Promise<ProcessorOf<E>> {
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
  const tracing = await startTracing(config, SERVICES.event, logger);
  const triggerHandler = createTriggerHandler(queueRedis, timeline);
  const router = new Router();
  if (config.EVENT_FANOUT_ENABLED) router.on('*', 'fan-out', createFanOutHandler(masterRedis));
  for (const trigger of triggers) router.on(trigger.on, `trigger:${trigger.name}`, triggerHandler.handlerFor(trigger));
  extras.configure?.(router);

  const metrics = createMetricsRegistry(SERVICES.event);
  const consumerBaseName = config.CONSUMER_NAME ?? defaultConsumerName();
  const engine = makeEngine({
    config,
    consumerBaseName,
    deps: {
      streams: streamsRedis,
      master: masterRedis,
      openReader: (consumer: string): RedisClient => connectRole(config, REDIS_ROLES.streams, 'consumer', logger, consumer),
      closeReader: (redis: RedisClient) => closeRedis(redis),
      router,
      dlq,
      registry: metrics,
      logger,
      timeline,
      tracing,
    },
  });
  const access = accessOf(config, undefined, masterRedis);
  const replayStore = new ReplayTaskStore(streamsRedis, { log: config.STREAM_NAME, maxRunning: config.REPLAY_MAX_RUNNING, keepMs: config.REPLAY_KEEP_MS });
  const replayPlanner = new ReplayPlanner({ streams: [...engine.streams], group: config.CONSUMER_GROUP }, { store: replayStore, streams: streamsRedis, logger });
  const replay = new ReplayRunner(
    { owner: consumerBaseName, leaseMs: config.REPLAY_LEASE_MS, pollMs: config.REPLAY_POLL_MS, batchSize: config.REPLAY_BATCH_SIZE },
    { store: replayStore, streams: streamsRedis, router, logger },
  );
  const app = createApp({
    bodyBudget: bodyBudgetOf(config),
    logger,
    metrics,
    checks,
    stats: engine.stats,
    replay: { store: replayStore, planner: replayPlanner, audit: access.audit, stream: config.STREAM_NAME, bodyLimit: config.HTTP_BODY_LIMIT, maxRatePerSec: config.REPLAY_MAX_RATE },
    credentials: access.credentials,
    authenticator: access.authenticator,
    accessMetrics: createAccessMetrics(metrics),
  });
  const server = await startHttpServer(app, config.EVENT_PROCESSOR_PORT, config.HTTP_HOST, httpServerLimitsOf(config));
  const close = createCloser(
    () => [
      { name: 'http', run: () => server.close() },
      { name: 'replay', run: () => replay.close() },
      { name: 'engine', run: () => engine.close() },
      { name: 'triggers', run: () => triggerHandler.close() },
      { name: 'dlq', run: () => dlq.close() },
      { name: 'timeline', run: () => timeline?.close() },
      { name: 'tracing', run: () => tracing?.close() },
      { name: 'redis', run: () => closeAll(all) },
    ],
    logger,
  );
  try {
    if (config.EVENT_BUS_ENABLED) {
      await engine.start();
      replay.start();
    }
  } catch (caught) {
    await close();
    throw caught;
  }
  logger.info({ url: server.url, consumer: consumerBaseName, handlers: router.describe(), busEnabled: config.EVENT_BUS_ENABLED }, 'event processor listening');
  return { url: server.url, app, engine, router, replay, close };
}
