import type { Queue } from 'bullmq';
import type { Express } from 'express';
import type { Registry } from 'prom-client';
import {
  SERVICES,
  createServiceApp,
  finishServiceApp,
  jsonBody,
  requireBasicAuth,
  requireBearer,
  type EventPublisher,
  type HealthCheck,
  type Logger,
  type Redis,
  type TimelineRecorder,
} from '@event-infra/shared';
import type { JobSubmitter } from '../core/job-submitter';
import type { WorkerInfo } from '../core/worker-pool';
import { BULL_BOARD_PATH, bullBoardRouter } from './bull-board';
import type { QueueResolver } from './queue-resolver';
import type { JobBodySchemas } from './schemas';
import { eventRoutes } from './routes/events';
import { jobRoutes } from './routes/jobs';
import { statsRoutes } from './routes/stats';
import { timelineRoutes } from './routes/timeline';

export interface AppDeps {
  logger: Logger;
  metrics: Registry;
  checks: Record<string, HealthCheck>;
  /** All four queues (Bull Board and /stats). */
  queues: readonly Queue[];
  jobs: JobSubmitter;
  resolveQueue: QueueResolver;
  publisher: EventPublisher;
  workers: () => WorkerInfo[];
  queueEnabled: boolean;
  apiKey: string | undefined;
  admin: { user: string | undefined; password: string | undefined };
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
  /** `EVENTS_API_SOURCE`: the `source` of events published over `POST /events`. */
  eventsSource: string;
  /** `EXPOSE_STACKS`: stack traces in job answers. */
  exposeStacks: boolean;
  /** Master Redis client and recorder of the timeline (absent: TIMELINE_ENABLED off, no `/timeline`). */
  timeline?: { master: Redis; recorder: TimelineRecorder } | undefined;
}

/** The queue processor's HTTP app, not listening. */
export function createApp(deps: AppDeps): Express {
  const app = createServiceApp({ service: SERVICES.queue, logger: deps.logger, checks: deps.checks, metrics: deps.metrics });
  app.use('/stats', statsRoutes({ queues: deps.queues, workers: deps.workers, queueEnabled: deps.queueEnabled }));
  const auth = requireBearer(deps.apiKey);
  const body = jsonBody(deps.bodyLimit);
  app.use('/jobs', auth, ...body, jobRoutes({ jobs: deps.jobs, resolveQueue: deps.resolveQueue, schemas: deps.schemas, exposeStacks: deps.exposeStacks }));
  app.use('/events', auth, ...body, eventRoutes({ publisher: deps.publisher, source: deps.eventsSource, timeline: deps.timeline?.recorder }));
  if (deps.timeline !== undefined) app.use('/timeline', auth, timelineRoutes({ master: deps.timeline.master }));
  app.use(
    BULL_BOARD_PATH,
    requireBasicAuth(deps.admin.user, deps.admin.password, 'Bull Board'), bullBoardRouter({
      queues: deps.queues,
      deadLetterQueue: deps.deadLetterQueue,
      readOnly: deps.adminReadOnly,
      schemas: deps.schemas,
      maxDelayMs: deps.maxDelayMs,
      bodyLimit: deps.bodyLimit,
    }),
  );
  return finishServiceApp(app, deps.logger);
}
