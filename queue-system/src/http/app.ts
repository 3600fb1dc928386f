import type { Queue } from 'bullmq';
import { Router, type Express } from 'express';
import type { Registry } from 'prom-client';
import {
  SERVICES,
  createServiceApp,
  type BodyBudgetOptions,
  finishServiceApp,
  accessControl,
  auditRoutes,
  jsonBody,
  type AccessMetrics,
  type AuditLog,
  type AuditRoutesOptions,
  type Authenticator,
  type CredentialSet,
  type EventPublisher,
  type HealthCheck,
  type Logger,
  type RedisClient,
  type TimelineRecorder,
  type Tracing,
} from '@event-infra/shared';
import type { JobOwners } from '../core/job-owners';
import type { JobSubmitter } from '../core/job-submitter';
import type { WorkerInfo } from '../core/worker-pool';
import { BULL_BOARD_PATH, bullBoardRouter } from './bull-board';
import type { QueueResolver } from './queue-resolver';
import { QUEUE_ROUTE_TABLE } from './route-table';
import type { JobBodySchemas } from './schemas';
import { eventRoutes } from './routes/events';
import { jobRoutes } from './routes/jobs';
import { statsRoutes } from './routes/stats';
import { timelineRoutes } from './routes/timeline';

export interface AppDeps {
  logger: Logger;
  metrics: Registry;
  checks: Record<string, HealthCheck>;
  /** `HTTP_BODY_MAX_IN_FLIGHT` and `HTTP_BODY_LIMIT` (`bodyBudgetOf`); absent: no bound on body bytes in flight. */
  bodyBudget?: BodyBudgetOptions | undefined;
  /** All four queues (Bull Board and /stats). */
  queues: readonly Queue[];
  jobs: JobSubmitter;
  resolveQueue: QueueResolver;
  publisher: EventPublisher;
  workers: () => WorkerInfo[];
  queueEnabled: boolean;
  /** API keys and users (with the old single `API_KEY` / `ADMIN_USER` as admins). */
  credentials: CredentialSet;
  authenticator: Authenticator;
  accessMetrics: AccessMetrics;
  audit: AuditLog;
  auditRoutes: AuditRoutesOptions;
  owners: JobOwners;
  /** `HTTP_BODY_LIMIT`, e.g. `1mb`. */
  bodyLimit: string;
  /** The bounded job body schemas (API and Bull Board). */
  schemas: JobBodySchemas;
  /** `JOB_MAX_DELAY_MS`. */
  maxDelayMs: number;
  /** `DLQ_QUEUE_NAME`. */
  deadLetterQueue: string;
  /** `ADMIN_READONLY`. */
  adminReadOnly: boolean;
  /** `CONSOLE_URL`: Bull Board's link to the operator console. */
  consoleUrl: string;
  /** `EVENTS_API_SOURCE`: the `source` of events published over `POST /events`. */
  eventsSource: string;
  /** `EXPOSE_STACKS`: stack traces in job answers. */
  exposeStacks: boolean;
  /** Master Redis client and recorder of the timeline (absent: TIMELINE_ENABLED off, no `/timeline`). */
  timeline?: { master: RedisClient; recorder: TimelineRecorder } | undefined;
  /** OpenTelemetry spans (absent: OTEL_EXPORTER_OTLP_ENDPOINT unset). */
  tracing?: Tracing | undefined;
}

/** The queue processor's HTTP app, not listening. */
export function createApp(deps: AppDeps): Express {
  const app = createServiceApp({ service: SERVICES.queue, logger: deps.logger, checks: deps.checks, metrics: deps.metrics, bodyBudget: deps.bodyBudget });
  // Before every route: the route table decides who may call what (route-table.ts).
  app.use(accessControl({ table: QUEUE_ROUTE_TABLE, authenticator: deps.authenticator, credentials: deps.credentials, metrics: deps.accessMetrics }));
  app.use('/stats', statsRoutes({ queues: deps.queues, workers: deps.workers, queueEnabled: deps.queueEnabled }));
  // Body parsers inside a router (not path-mounted on the app): every path-mounted layer of the
  // app is then a route or a router, which the route-table test walks.
  const withBody = (router: Router): Router => Router().use(...jsonBody(deps.bodyLimit), router);
  app.use('/audit', auditRoutes(deps.audit, deps.auditRoutes));
  app.use(
    '/jobs',
    withBody(jobRoutes({ jobs: deps.jobs, resolveQueue: deps.resolveQueue, schemas: deps.schemas, exposeStacks: deps.exposeStacks, audit: deps.audit, owners: deps.owners, tracing: deps.tracing })),
  );
  app.use('/events', withBody(eventRoutes({ publisher: deps.publisher, source: deps.eventsSource, audit: deps.audit, timeline: deps.timeline?.recorder, tracing: deps.tracing })));
  if (deps.timeline !== undefined) app.use('/timeline', timelineRoutes({ master: deps.timeline.master, maxSteps: deps.timeline.recorder.maxSteps }));
  app.use(
    BULL_BOARD_PATH,
    bullBoardRouter({
      queues: deps.queues,
      deadLetterQueue: deps.deadLetterQueue,
      readOnly: deps.adminReadOnly,
      consoleUrl: deps.consoleUrl,
      schemas: deps.schemas,
      maxDelayMs: deps.maxDelayMs,
      bodyLimit: deps.bodyLimit,
      audit: deps.audit,
    }),
  );
  return finishServiceApp(app, deps.logger);
}
