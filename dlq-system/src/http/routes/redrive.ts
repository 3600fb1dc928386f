import { randomUUID } from 'node:crypto';
import { Router } from 'express';
import { asyncHandler, auditActorOf, auditAttempt, jsonBody, type AuditLog } from '@event-infra/shared';
import type { RedrivePlanner } from '../../core/redrive-planner';
import type { RedriveRunner } from '../../core/redrive-runner';
import { taskView, type RedriveTaskStore } from '../../core/redrive-task';
import { entryIdSchema, redriveSchema, tasksQuerySchema, timeBounds } from '../schemas';
import { parse } from './dlq';

export interface RedriveRoutesDeps {
  planner: RedrivePlanner;
  tasks: RedriveTaskStore;
  runner: RedriveRunner;
  audit: AuditLog;
  bodyLimit: string;
  /** `DLQ_REDRIVE_MAX_RATE`: highest `rate` a task may ask for, entries/s. */
  maxRate: number;
}

/** Bulk redrive tasks, mounted at `/dlq` (before the entry routes: `/dlq/tasks` is not an entry id). */
export function redriveRoutes(deps: RedriveRoutesDeps): Router {
  const router = Router();
  const bodySchema = redriveSchema(deps.maxRate);

  router.post(
    '/redrive',
    ...jsonBody(deps.bodyLimit),
    asyncHandler(async (req, res) => {
      const body = parse(bodySchema, req.body, 'body');
      const { from, to, ...indexed } = body.filter ?? {};
      const request = {
        ...(body.filter !== undefined ? { filter: { ...indexed, ...timeBounds({ from, to }) } } : {}),
        ...(body.fingerprint !== undefined ? { fingerprint: body.fingerprint } : {}),
        rate: body.rate,
        ...(body.name !== undefined ? { name: body.name } : {}),
        asGiven: body.filter ?? {},
      };
      const ids = await deps.planner.select(request);
      if (body.dryRun) {
        res.json({ dryRun: true, count: ids.length });
        return;
      }
      const taskId = randomUUID();
      // Recorded before the task exists (the task's own entries are each audited as they go).
      await auditAttempt(req, deps.audit, 'dlq.redrive', {
        taskId,
        filter: body.filter ?? { fingerprint: body.fingerprint },
        count: ids.length,
      });
      const task = await deps.planner.create(taskId, request, auditActorOf(req), ids);
      deps.runner.wake();
      res.status(202).location(`/dlq/tasks/${task.id}`).json({ taskId: task.id, status: task.status, selected: task.selected, rate: task.rate });
    }),
  );

  router.get(
    '/tasks',
    asyncHandler(async (req, res) => {
      const query = parse(tasksQuerySchema, req.query, 'query');
      const offset = query.cursor === undefined ? 0 : Number.parseInt(query.cursor, 10) || 0;
      const { items, more } = await deps.tasks.list(offset, query.limit);
      res.json({ items: items.map(taskView), nextCursor: more ? String(offset + query.limit) : null });
    }),
  );

  router.get(
    '/tasks/:id',
    asyncHandler(async (req, res) => {
      res.json(taskView(await deps.tasks.get(parse(entryIdSchema, req.params.id, 'task id'))));
    }),
  );

  router.delete(
    '/tasks/:id',
    asyncHandler(async (req, res) => {
      const id = parse(entryIdSchema, req.params.id, 'task id');
      const task = await deps.tasks.get(id);
      await auditAttempt(req, deps.audit, 'dlq.redrive-cancel', { taskId: id });
      res.json(taskView(await deps.tasks.cancel(task)));
    }),
  );

  return router;
}
