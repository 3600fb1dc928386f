import { Router } from 'express';
import type { Queue } from 'bullmq';
import { SERVICES, asyncHandler } from '@event-infra/shared';
import type { WorkerInfo } from '../../core/worker-pool';

export interface StatsDeps {
  queues: readonly Queue[];
  /** Workers of this process; empty when QUEUE_ENABLED=false. */
  workers: () => WorkerInfo[];
  /** Whether this process runs workers at all. */
  queueEnabled: boolean;
}

/** Counts per queue (waiting, active, completed, failed, delayed, paused) and whether it is paused. */
export async function queueCounts(queue: Queue) {
  const [counts, isPaused] = await Promise.all([
    queue.getJobCounts('waiting', 'prioritized', 'active', 'completed', 'failed', 'delayed', 'waiting-children'),
    queue.isPaused(),
  ]);
  // BullMQ 6 has no "paused" list: a paused queue keeps its jobs in wait.
  const waiting = (counts.waiting ?? 0) + (counts.prioritized ?? 0);
  return {
    isPaused,
    waiting,
    active: counts.active ?? 0,
    completed: counts.completed ?? 0,
    failed: counts.failed ?? 0,
    delayed: counts.delayed ?? 0,
    paused: isPaused ? waiting : 0,
  };
}

/** `GET /stats`: per-queue counts and this process's workers. */
export function statsRoutes(deps: StatsDeps): Router {
  const router = Router();
  router.get(
    '/',
    asyncHandler(async (_req, res) => {
      const workers = deps.workers();
      const queues = await Promise.all(
        deps.queues.map(async (queue) => {
          const { isPaused, ...counts } = await queueCounts(queue);
          return { name: queue.name, isPaused, counts, worker: workers.find((worker) => worker.queue === queue.name) ?? null };
        }),
      );
      res.json({ service: SERVICES.queue, queueEnabled: deps.queueEnabled, queues, workers });
    }),
  );
  return router;
}
