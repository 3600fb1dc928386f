import { Router } from 'express';
import { NotFoundError, asyncHandler, requestCorrelation, sendCorrelation } from '@event-infra/shared';
import type { JobSubmitter } from '../../core/job-submitter';
import { toJobView } from '../../core/job-view';
import { parseBody } from '../parse-body';
import type { QueueResolver } from '../queue-resolver';
import type { JobBodySchemas } from '../schemas';

export interface JobRoutesDeps {
  jobs: JobSubmitter;
  resolveQueue: QueueResolver;
  /** The bounded job body schemas (`jobBodySchemas(limits)`). */
  schemas: JobBodySchemas;
  /** `EXPOSE_STACKS`: stack traces in job answers (default off). */
  exposeStacks: boolean;
}

/** `/jobs/:queue`, `/jobs/:queue/bulk`, `/jobs/:queue/:id` (mounted under `/jobs`). */
export function jobRoutes(deps: JobRoutesDeps): Router {
  const router = Router();

  router.post(
    '/:queue',
    asyncHandler(async (req, res) => {
      const queue = deps.resolveQueue(req);
      const submission = parseBody(deps.schemas.submission, req.body, 'job');
      const correlationId = requestCorrelation(req);
      const { job, created } = await deps.jobs.add(queue, submission, { correlationId });
      const id = String(job.id);
      res.setHeader('Location', `/jobs/${encodeURIComponent(queue)}/${encodeURIComponent(id)}`);
      sendCorrelation(res, correlationId);
      res.status(created ? 201 : 200).json({ id, queue, name: job.name, correlationId, ...(created ? {} : { existing: true }) });
    }),
  );

  router.post(
    '/:queue/bulk',
    asyncHandler(async (req, res) => {
      const queue = deps.resolveQueue(req);
      const { jobs } = parseBody(deps.schemas.bulk, req.body, 'bulk request');
      const correlationId = requestCorrelation(req);
      const added = await deps.jobs.addBulk(queue, jobs, { correlationId });
      sendCorrelation(res, correlationId);
      res.status(201).json({
        correlationId,
        jobs: added.map(({ job, created }) => ({ id: String(job.id), queue, name: job.name, ...(created ? {} : { existing: true }) })),
      });
    }),
  );

  router.get(
    '/:queue/:id',
    asyncHandler(async (req, res) => {
      const queue = deps.resolveQueue(req, { readOnly: true });
      const id = String(req.params.id);
      // State first, then the hash: a job seen "completed" then carries its return value
      // (the other order can pair a pre-completion hash with the new state).
      const state = await deps.jobs.state(queue, id);
      const [job, logs] = await Promise.all([deps.jobs.get(queue, id), deps.jobs.logs(queue, id, 10)]);
      if (!job || state === 'unknown') throw new NotFoundError(`no job ${id} in ${queue}`);
      const message = logs.at(-1);
      res.json(toJobView(job, queue, state, message, deps.jobs.maxTimeoutMs, deps.exposeStacks));
    }),
  );

  router.delete(
    '/:queue/:id',
    asyncHandler(async (req, res) => {
      const queue = deps.resolveQueue(req);
      const id = String(req.params.id);
      const result = await deps.jobs.cancel(queue, id);
      if (!result) throw new NotFoundError(`no job ${id} in ${queue}`);
      res.json({ id, queue, previousState: result.state, result: result.outcome });
    }),
  );

  return router;
}
