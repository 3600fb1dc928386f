import type { Queue } from 'bullmq';
import type { Express } from 'express';
import type { Registry } from 'prom-client';
import {
  SERVICES,
  asyncHandler,
  createServiceApp,
  finishServiceApp,
  type HealthCheck,
  type Logger,
} from '@event-infra/shared';

export interface AppDeps {
  logger: Logger;
  metrics: Registry;
  checks: Record<string, HealthCheck>;
  queues: readonly Queue[];
}

/** The queue processor's HTTP app, not listening. */
export function createApp(deps: AppDeps): Express {
  const app = createServiceApp({ service: SERVICES.queue, logger: deps.logger, checks: deps.checks, metrics: deps.metrics });
  app.get(
    '/stats',
    asyncHandler(async (_req, res) => {
      const queues = await Promise.all(
        deps.queues.map(async (queue) => {
          const [counts, isPaused] = await Promise.all([
            queue.getJobCounts('waiting', 'prioritized', 'active', 'completed', 'failed', 'delayed'),
            queue.isPaused(),
          ]);
          // BullMQ 6 has no "paused" list: a paused queue keeps its jobs in wait.
          const waiting = (counts.waiting ?? 0) + (counts.prioritized ?? 0);
          return {
            name: queue.name,
            isPaused,
            counts: {
              waiting,
              active: counts.active ?? 0,
              completed: counts.completed ?? 0,
              failed: counts.failed ?? 0,
              delayed: counts.delayed ?? 0,
              paused: isPaused ? waiting : 0,
            },
          };
        }),
      );
      res.json({ service: SERVICES.queue, queues });
    }),
  );
  return finishServiceApp(app, deps.logger);
}
