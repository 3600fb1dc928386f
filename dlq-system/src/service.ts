import type { Express } from 'express';
import type { ConnectionOptions } from 'bullmq';
import { Queue } from '@event-infra/shared/bullmq';
import {
  bodyBudgetOf,
  bullPrefix,
  QUEUES,
  REDIS_ROLES,
  SERVICES,
  createDeadLetterSink,
  accessOf,
  closeAll,
  connectRole,
  createAccessMetrics,
  createCloser,
  createTimelineRecorder,
  readTimeline,
  startTracing,
  createMetricsRegistry,
  redisChecks,
  redisEndpoint,
  bullConnectionFor,
  startHttpServer,
  httpServerLimitsOf,
  waitForAll,
  type Logger,
} from '@event-infra/shared';
import type { DlqConfig } from './config';
import { Alerter } from './core/alerter';
import { DlqConsumer } from './core/dlq-consumer';
import { DlqHandler } from './core/dlq-handler';
import { createDlqMetrics } from './core/dlq-metrics';
import { DlqQuery } from './core/dlq-query';
import { DlqStore } from './core/dlq-store';
import { ConsoleOverview } from './core/console-overview';
import { IndexBackfill } from './core/index-backfill';
import { StreamTools } from './core/stream-tools';
import { RedrivePlanner } from './core/redrive-planner';
import { RedriveRunner } from './core/redrive-runner';
import { RedriveTaskStore } from './core/redrive-task';
import { OriginSender } from './core/origin-sender';
import { RecoveryTracker } from './core/recovery-tracker';
import { RetentionSweeper } from './core/retention';
import { RetryPolicy } from './core/retry-policy';
import { RetryQueue, RetryWorker } from './core/retry-scheduler';
import { createApp } from './http/app';

export interface DlqProcessor {
  url: string;
  /** The express app (the route-table test walks its routes). */
  app: Express;
  store: DlqStore;
  handler: DlqHandler;
  alerter: Alerter;
  query: DlqQuery;
  tasks: RedriveTaskStore;
  runner: RedriveRunner;
  backfill: IndexBackfill;
  close(): Promise<void>;
}

const DAY_MS = 86_400_000;

/**
 * Composition: Redis clients, the DLQ consumer, retry scheduler, recovery tracker, alerter,
 * retention, and the HTTP app on DLQ_PROCESSOR_PORT.
 */
export async function startDlqProcessor(config: DlqConfig, logger: Logger): Promise<DlqProcessor> {
  const clients = {
    [REDIS_ROLES.master]: connectRole(config, REDIS_ROLES.master, 'producer', logger),
    [REDIS_ROLES.streams]: connectRole(config, REDIS_ROLES.streams, 'producer', logger),
    [REDIS_ROLES.queue]: connectRole(config, REDIS_ROLES.queue, 'producer', logger),
  };
  const allClients = Object.values(clients);
  try {
    await waitForAll(clients, config.REDIS_CONNECT_TIMEOUT_MS);
  } catch (caught) {
    await closeAll(allClients);
    throw caught;
  }
  const master = clients[REDIS_ROLES.master];
  // BullMQ workers and QueueEvents open their own blocking connections from these options.
  // On a cluster, one Cluster client that BullMQ duplicates (closed after the BullMQ objects).
  const bull = bullConnectionFor(config, REDIS_ROLES.queue, logger, 'dlq');
  const bullConnection = bull.connection as ConnectionOptions;

  const registry = createMetricsRegistry(SERVICES.dlq);
  // The DLQ has no Bull Board: only ADMIN_USERS (and API keys) log in here.
  const access = accessOf(config, undefined, master);
  const store = new DlqStore(master, {
    onUnreplicated: (entryId, to) => logger.warn({ entryId, to }, 'dlq transition not acknowledged by a replica in time: it is on the master only'),
  });
  const metrics = createDlqMetrics(registry, store);
  const alerter = new Alerter(
    {
      windowMs: config.ALERT_COALESCE_WINDOW_MS,
      historyMax: config.ALERT_HISTORY_MAX,
      webhook:
        config.ALERT_WEBHOOK_URL === undefined
          ? undefined
          : {
              url: config.ALERT_WEBHOOK_URL,
              timeoutMs: config.ALERT_WEBHOOK_TIMEOUT_MS,
              attempts: config.ALERT_WEBHOOK_ATTEMPTS,
              retryDelayMs: config.ALERT_WEBHOOK_RETRY_DELAY_MS,
              maxDelayMs: config.ALERT_WEBHOOK_MAX_RETRY_DELAY_MS,
            },
    },
    { redis: master, store, metrics, logger },
  );
  const tracing = await startTracing(config, SERVICES.dlq, logger);
  const sender = new OriginSender({
    queueRedis: clients[REDIS_ROLES.queue],
    streamsRedis: clients[REDIS_ROLES.streams],
    logger,
    streamMaxLenApprox: config.STREAM_MAXLEN_APPROX,
    tracing,
  });
  const policy = new RetryPolicy({
    maxRetries: config.DLQ_MAX_RETRIES,
    baseDelayMs: config.DLQ_RETRY_BASE_DELAY_MS ?? config.RETRY_DELAY,
    maxDelayMs: config.DLQ_RETRY_MAX_DELAY_MS,
  });
  // The queue only adds delayed retries; the worker runs them through the handler: no cycle.
  const scheduler = new RetryQueue({ dlqQueueName: config.DLQ_QUEUE_NAME, connection: bullConnection });
  const timeline = createTimelineRecorder(config, SERVICES.dlq, { redis: master, logger });
  const handler = new DlqHandler({ store, policy, sender, alerter, metrics, scheduler, audit: access.audit, logger, timeline });
  const retryWorker = new RetryWorker({ queueName: scheduler.queue.name, connection: bullConnection }, { handler, logger });
  const consumer = new DlqConsumer(
    {
      queueName: config.DLQ_QUEUE_NAME,
      connection: bullConnection,
      concurrency: config.DLQ_CONCURRENCY,
      handleRetryDelayMs: config.DLQ_HANDLE_RETRY_DELAY_MS,
    },
    { handler, logger, tracing },
  );
  const tracker = new RecoveryTracker(
    {
      connection: bullConnection,
      checkIntervalMs: config.DLQ_RECOVERY_CHECK_MS,
      lostRetryGraceMs: config.DLQ_LOST_RETRY_GRACE_MS,
      group: config.CONSUMER_GROUP,
    },
    { store, handler, streams: clients[REDIS_ROLES.streams], logger },
  );
  const retention = new RetentionSweeper(
    {
      maxAgeMs: config.DLQ_RETENTION_DAYS * DAY_MS,
      maxEntries: config.DLQ_RETENTION_MAX_ENTRIES,
      intervalMs: config.DLQ_RETENTION_INTERVAL_MS,
    },
    { store, logger },
  );
  const query = new DlqQuery({ redis: master, store }, { scanMax: config.DLQ_SCAN_MAX });
  const tasks = new RedriveTaskStore(master, { keepMs: config.DLQ_REDRIVE_KEEP_MS });
  const planner = new RedrivePlanner({ query, tasks }, { maxEntries: config.DLQ_REDRIVE_MAX_ENTRIES });
  const runner = new RedriveRunner(
    { leaseMs: config.DLQ_REDRIVE_LEASE_MS, pollMs: config.DLQ_REDRIVE_POLL_MS, batchMax: 200, concurrency: 64 },
    { tasks, handler, logger },
  );
  const backfill = new IndexBackfill({ redis: master, handler, logger });
  // Stuck entries dead-lettered by an operator go the normal way: a job in the DLQ queue.
  const operatorSink = createDeadLetterSink({ queueName: config.DLQ_QUEUE_NAME, connection: clients[REDIS_ROLES.queue] });
  const streamTools = new StreamTools(
    { stream: config.STREAM_NAME, partitions: config.STREAM_PARTITIONS, maxStoredChars: 65_536 },
    { streams: clients[REDIS_ROLES.streams], sink: operatorSink },
  );
  const overview = new ConsoleOverview(
    {
      queues: [QUEUES.longRunning, QUEUES.asyncProcessing, QUEUES.eventDriven, config.DLQ_QUEUE_NAME],
      retention: { maxAgeMs: config.STREAM_RETENTION_MS, maxLen: config.STREAM_RETENTION_MAXLEN, maxLenApprox: config.STREAM_MAXLEN_APPROX },
    },
    { queueRedis: clients[REDIS_ROLES.queue], master, store, alerter, streams: streamTools, logger },
  );
  const dlqQueue = new Queue(config.DLQ_QUEUE_NAME, { connection: clients[REDIS_ROLES.queue], prefix: bullPrefix(config.DLQ_QUEUE_NAME, clients[REDIS_ROLES.queue].isCluster) });

  const close = createCloser(
    () => [
      { name: 'http', run: () => server?.close() },
      { name: 'redrive-runner', run: () => runner.close() },
      { name: 'index-backfill', run: () => backfill.close() },
      { name: 'dlq-consumer', run: () => consumer.close() },
      { name: 'retry-worker', run: () => retryWorker.close() },
      { name: 'retry-queue', run: () => scheduler.close() },
      { name: 'recovery-tracker', run: () => tracker.close() },
      { name: 'retention', run: () => retention.close() },
      { name: 'alerter', run: () => alerter.close() },
      { name: 'origin-sender', run: () => sender.close() },
      { name: 'timeline', run: () => timeline?.close() },
      { name: 'tracing', run: () => tracing?.close() },
      { name: 'dlq-queue', run: () => dlqQueue.close() },
      { name: 'console-overview', run: () => overview.close() },
      { name: 'operator-sink', run: () => operatorSink.close() },
      { name: 'bull-connection', run: () => bull.close() },
      { name: 'redis', run: () => closeAll(allClients) },
    ],
    logger,
  );
  let server: Awaited<ReturnType<typeof startHttpServer>> | undefined;
  let app: Express;
  try {
    await alerter.start();
    await tracker.start();
    retryWorker.start();
    consumer.start();
    retention.start();
    backfill.start();
    runner.start();
    app = createApp({
      bodyBudget: bodyBudgetOf(config),
      logger,
      metrics: registry,
      checks: redisChecks(clients),
      store,
      query,
      handler,
      alerter,
      planner,
      tasks,
      runner,
      maxRate: config.DLQ_REDRIVE_MAX_RATE,
      streamTools,
      overview,
      credentials: access.credentials,
      authenticator: access.authenticator,
      accessMetrics: createAccessMetrics(registry),
      audit: access.audit,
      auditRoutes: access.auditRoutes,
      bodyLimit: config.HTTP_BODY_LIMIT,
      maxPageSize: config.DLQ_PAGE_MAX_LIMIT,
      console: { queueProcessorUrl: config.CONSOLE_QUEUE_PROCESSOR_URL, readTimeline: (correlationId) => readTimeline(master, correlationId, config.TIMELINE_MAX_STEPS) },
      stats: async () => ({
        queue: dlqQueue.name,
        counts: await dlqQueue.getJobCounts('waiting', 'active', 'completed', 'failed', 'delayed'),
        entries: await store.countByStatus(),
        parked: await store.parkedByOrigin(),
        totals: await store.counters(),
        retryPolicy: policy.options,
      }),
    });
    server = await startHttpServer(app, config.DLQ_PROCESSOR_PORT, config.HTTP_HOST, httpServerLimitsOf(config));
  } catch (caught) {
    await close();
    throw caught;
  }
  logger.info({ url: server.url, maxRetries: config.DLQ_MAX_RETRIES, webhook: alerter.hasWebhook }, 'dlq processor listening');
  return { url: server.url, app, store, handler, alerter, query, tasks, runner, backfill, close };
}
