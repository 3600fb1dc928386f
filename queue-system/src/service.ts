import type { Express } from 'express';
import { Queue } from '@event-infra/shared/bullmq';
import {
  bodyBudgetOf,
  REDIS_ROLES,
  SERVICES,
  WORK_QUEUES,
  bullPrefix,
  accessOf,
  closeAll,
  connectRole,
  createAccessMetrics,
  hasUsers,
  createCloser,
  createTimelineRecorder,
  startTracing,
  createDeadLetterSink,
  createEventPublisher,
  createMetricsRegistry,
  redisChecks,
  secretsOf,
  startHttpServer,
  httpServerLimitsOf,
  waitForAll,
  type Logger,
  type RedisClient,
  type WorkQueueName,
} from '@event-infra/shared';
import { concurrencyFor, jobLimitsOf, type QueueConfig } from './config';
import { createBuiltInRegistry, loadCustomHandlers } from './core/create-registry';
import { createJobRunner } from './core/job-runner';
import { JobOwners } from './core/job-owners';
import { createJobSubmitter } from './core/job-submitter';
import { createLifecycleEvents } from './core/lifecycle-events';
import { createQueueMetrics } from './core/queue-metrics';
import { startWorkerPool, type WorkerPool } from './core/worker-pool';
import { createApp } from './http/app';
import { createQueueResolver } from './http/queue-resolver';
import { queueCounts } from './http/routes/stats';
import { jobBodySchemas } from './http/schemas';

export interface QueueProcessor {
  url: string;
  /** The express app (the route-table test walks its routes). */
  app: Express;
  close(): Promise<void>;
}

/** Work queues this process runs workers for (none when QUEUE_ENABLED=false). */
export function enabledWorkQueues(config: QueueConfig): WorkQueueName[] {
  if (!config.QUEUE_ENABLED) return [];
  return WORK_QUEUES.filter((queue) => queue !== 'long-running-jobs' || config.LONG_RUNNING_JOBS_ENABLED);
}

/**
 * Composition: Redis clients, handler registry, queues, workers, HTTP app. Listens on
 * QUEUE_PROCESSOR_PORT. `close()` stops HTTP, drains workers within SHUTDOWN_GRACE_MS,
 * then closes queues and connections.
 */
export async function startQueueProcessor(config: QueueConfig, logger: Logger): Promise<QueueProcessor> {
  const queueRedis = connectRole(config, REDIS_ROLES.queue, 'producer', logger);
  const streamsRedis = connectRole(config, REDIS_ROLES.streams, 'producer', logger);
  // The master holds the audit log: an action that cannot be recorded there is refused.
  const masterRedis = connectRole(config, REDIS_ROLES.master, 'producer', logger);
  const clients = { [REDIS_ROLES.queue]: queueRedis, [REDIS_ROLES.streams]: streamsRedis, [REDIS_ROLES.master]: masterRedis };
  try {
    await waitForAll(clients, config.REDIS_CONNECT_TIMEOUT_MS);
  } catch (caught) {
    await closeAll(Object.values(clients));
    throw caught;
  }
  const publisher = createEventPublisher(
    { stream: config.STREAM_NAME, source: SERVICES.queue, maxLenApprox: config.STREAM_MAXLEN_APPROX, partitions: config.STREAM_PARTITIONS },
    { redis: streamsRedis, logger },
  );
  const registry = createBuiltInRegistry({
    publisher,
    allowedHosts: config.HTTP_ALLOWED_HOSTS,
    maxResponseBytes: config.HTTP_REQUEST_MAX_RESPONSE_BYTES,
  });
  if (config.JOB_HANDLERS_MODULE !== undefined) {
    try {
      const custom = await loadCustomHandlers(config.JOB_HANDLERS_MODULE);
      for (const definition of custom) registry.register(definition);
      logger.info({ module: config.JOB_HANDLERS_MODULE, handlers: custom.map((entry) => entry.name) }, 'custom handlers loaded');
    } catch (caught) {
      await closeAll(Object.values(clients));
      throw caught;
    }
  }
  const queueNames = [...WORK_QUEUES, config.DLQ_QUEUE_NAME];
  const queues = queueNames.map((name) => new Queue(name, { connection: queueRedis, prefix: bullPrefix(name, queueRedis.isCluster) }));
  const deadLetters = createDeadLetterSink({ queueName: config.DLQ_QUEUE_NAME, connection: queueRedis });
  const timeline = createTimelineRecorder(config, SERVICES.queue, { redis: masterRedis, logger });
  const tracing = await startTracing(config, SERVICES.queue, logger);
  const maxTimeoutMs = config.MAX_JOB_DURATION * 1000;
  const secrets = secretsOf(config as unknown as Record<string, unknown>);
  const jobs = createJobSubmitter(
    {
      attempts: config.RETRY_ATTEMPTS,
      backoffDelayMs: config.RETRY_DELAY,
      maxTimeoutMs,
    },
    { queues: new Map(queues.map((queue) => [queue.name, queue])), registry, redis: queueRedis, timeline },
  );
  const metrics = createMetricsRegistry(SERVICES.queue);
  const legacyAdmin = config.ADMIN_USER !== undefined && config.ADMIN_PASSWORD !== undefined ? { user: config.ADMIN_USER, password: config.ADMIN_PASSWORD } : undefined;
  const access = accessOf(config, legacyAdmin, masterRedis);
  const observer = createQueueMetrics(metrics, queues, queueCounts);
  const events = config.PUBLISH_EVENTS
    ? createLifecycleEvents({ progressIntervalMs: config.PROGRESS_EVENT_INTERVAL_MS }, { publisher, logger })
    : undefined;

  let pool: WorkerPool | undefined;
  let workerDeadLetters: typeof deadLetters | undefined;
  let workerSinkRedis: ReturnType<typeof connectRole> | undefined;
  const workQueues = enabledWorkQueues(config);
  if (workQueues.length > 0) {
    // Workers write DLQ entries through a consumer-profile client: during a Redis blip the
    // entry waits for the reconnect instead of failing fast, so it is not lost.
    workerSinkRedis = connectRole(config, REDIS_ROLES.queue, 'consumer', logger, 'dlq-sink');
    const sink = createDeadLetterSink({ queueName: config.DLQ_QUEUE_NAME, connection: workerSinkRedis });
    workerDeadLetters = sink;
    pool = await startWorkerPool(
      {
        queues: workQueues.map((name) => ({ name, concurrency: concurrencyFor(config, name) })),
        lockDurationMs: config.JOB_LOCK_DURATION_MS,
        stalledIntervalMs: config.JOB_STALLED_INTERVAL_MS,
        maxStalledCount: config.JOB_MAX_STALLED_COUNT,
        keepCompleted: config.JOB_KEEP_COMPLETED,
        keepFailed: config.JOB_KEEP_FAILED,
        fetchWatchdog: { intervalMs: config.JOB_FETCH_WATCHDOG_INTERVAL_MS, stalledAfterMs: config.JOB_FETCH_WATCHDOG_INTERVAL_MS * 2 },
      },
      {
        connect: (name) => connectRole(config, REDIS_ROLES.queue, 'consumer', logger, name),
        runnerFor: (queue) =>
          createJobRunner(
            { queue, maxTimeoutMs, secrets },
            { registry, deadLetters: sink, events, observer, logger, timeline, tracing },
          ),
        deadLetters: sink,
        logger,
      },
    );
  } else {
    logger.info({ queueEnabled: config.QUEUE_ENABLED }, 'no workers in this process: API and Bull Board only');
  }

  const app = createApp({
    bodyBudget: bodyBudgetOf(config),
    logger,
    metrics,
    checks: redisChecks(clients),
    queues,
    jobs,
    resolveQueue: createQueueResolver({ workQueues: WORK_QUEUES, deadLetterQueue: config.DLQ_QUEUE_NAME }),
    publisher,
    workers: () => pool?.info() ?? [],
    queueEnabled: config.QUEUE_ENABLED,
    credentials: access.credentials,
    authenticator: access.authenticator,
    accessMetrics: createAccessMetrics(metrics),
    audit: access.audit,
    auditRoutes: access.auditRoutes,
    owners: new JobOwners(queueRedis),
    bodyLimit: config.HTTP_BODY_LIMIT,
    schemas: jobBodySchemas(jobLimitsOf(config)),
    maxDelayMs: config.JOB_MAX_DELAY_MS,
    deadLetterQueue: config.DLQ_QUEUE_NAME,
    adminReadOnly: config.ADMIN_READONLY,
    consoleUrl: config.CONSOLE_URL,
    eventsSource: config.EVENTS_API_SOURCE,
    exposeStacks: config.EXPOSE_STACKS,
    timeline: timeline !== undefined ? { master: masterRedis, recorder: timeline } : undefined,
    tracing,
  });
  const server = await startHttpServer(app, config.QUEUE_PROCESSOR_PORT, config.HTTP_HOST, httpServerLimitsOf(config));
  if (!hasUsers(access.credentials)) logger.warn('Bull Board at /admin/queues is open: set ADMIN_USERS (or ADMIN_USER and ADMIN_PASSWORD)');
  logger.info({ url: server.url, workers: workQueues }, 'queue processor listening');
  let unfinished = 0;
  const closeSteps = createCloser(
    () => [
      {
        // Workers stop fetching at once (not after the HTTP server has drained its requests,
        // which can take seconds): a job added during shutdown waits for the next worker.
        name: 'workers and http',
        run: async () => {
          const workers = pool?.close(config.SHUTDOWN_GRACE_MS);
          await server.close();
          unfinished = (await workers)?.unfinished ?? 0;
        },
      },
      { name: 'timeline', run: () => timeline?.close() },
      { name: 'tracing', run: () => tracing?.close() },
      { name: 'dlq-sink', run: async () => void (await Promise.allSettled([deadLetters.close(), workerDeadLetters?.close()])) },
      { name: 'queues', run: async () => void (await Promise.allSettled(queues.map((queue) => queue.close()))) },
      { name: 'redis', run: () => closeAll([...Object.values(clients), ...(workerSinkRedis ? [workerSinkRedis] : [])]) },
    ],
    logger,
  );
  // Rejecting makes `runService` exit non-zero: jobs were left for stalled recovery.
  const close = async (): Promise<void> => {
    await closeSteps();
    if (unfinished > 0) throw new Error(`grace period over: ${unfinished} active job(s) left to run again after restart`);
  };
  return { url: server.url, app, close };
}
