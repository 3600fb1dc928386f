import { Router } from 'express';
import type { Request } from 'express';
import { ANONYMOUS, NotFoundError, asyncHandler, auditAttempt, requestCorrelation, roleAllows, sendCorrelation, traceRequest, type AuditLog, type TraceContext, type Tracing } from '@event-infra/shared';
import type { JobOwners } from '../../core/job-owners';
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
  audit: AuditLog;
  owners: JobOwners;
  /** OpenTelemetry (absent: OTEL_EXPORTER_OTLP_ENDPOINT unset, no span). */
  tracing?: Tracing | undefined;
}

/** The answer's `traceparent`: what the jobs carry, absent when they carry none (tracing off, no caller context). */
const traceparentOf = (context: TraceContext | undefined): { traceparent?: string } => (context !== undefined ? { traceparent: context.traceparent } : {});
/** Submissions by people are audited; services' (API keys) are not: they are the traffic itself. */
const isHuman = (req: Request): boolean => req.principal?.kind === 'human';
/** A principal that may read only its own jobs gets an owner record for what it submits. */
const readsOwnOnly = (req: Request): boolean => !roleAllows((req.principal ?? ANONYMOUS).role, 'read');

/** `/jobs/:queue`, `/jobs/:queue/bulk`, `/jobs/:queue/:id` (mounted under `/jobs`). */
export function jobRoutes(deps: JobRoutesDeps): Router {
  const router = Router();

  router.post(
    '/:queue',
    asyncHandler(async (req, res) => {
      const { context } = traceRequest(req, res, deps.tracing, '/jobs/:queue');
      const queue = deps.resolveQueue(req);
      const submission = parseBody(deps.schemas.submission, req.body, 'job');
      const correlationId = requestCorrelation(req);
      if (isHuman(req)) await auditAttempt(req, deps.audit, 'job.submit', { queue, ...(submission.opts?.jobId !== undefined ? { jobId: submission.opts.jobId } : {}) });
      const { job, created } = await deps.jobs.add(queue, submission, { correlationId, ...context });
      const id = String(job.id);
      if (created && readsOwnOnly(req)) await deps.owners.set(queue, [id], req.principal!.name);
      res.setHeader('Location', `/jobs/${encodeURIComponent(queue)}/${encodeURIComponent(id)}`);
      sendCorrelation(res, correlationId);
      res.status(created ? 201 : 200).json({ id, queue, name: job.name, correlationId, ...traceparentOf(context), ...(created ? {} : { existing: true }) });
    }),
  );

  router.post(
    '/:queue/bulk',
    asyncHandler(async (req, res) => {
      const { context } = traceRequest(req, res, deps.tracing, '/jobs/:queue/bulk');
      const queue = deps.resolveQueue(req);
      const { jobs } = parseBody(deps.schemas.bulk, req.body, 'bulk request');
      // The parsed jobs are a copy: the raw body (up to JOB_MAX_BULK objects) need not live while they are added.
      req.body = undefined;
      const correlationId = requestCorrelation(req);
      if (isHuman(req)) await auditAttempt(req, deps.audit, 'job.submit-bulk', { queue, count: jobs.length });
      const added = await deps.jobs.addBulk(queue, jobs, { correlationId, ...context });
      if (readsOwnOnly(req)) {
        await deps.owners.set(queue, added.filter((entry) => entry.created).map((entry) => entry.id), req.principal!.name);
      }
      sendCorrelation(res, correlationId);
      res.status(201).json({
        correlationId,
        ...traceparentOf(context),
        jobs: added.map(({ id, name, created }) => ({ id, queue, name, ...(created ? {} : { existing: true }) })),
      });
    }),
  );

  router.get(
    '/:queue/:id',
    asyncHandler(async (req, res) => {
      const queue = deps.resolveQueue(req, { readOnly: true });
      const id = String(req.params.id);
      // Someone else's job is "not found" to a principal that reads only its own: no existence leak.
      if (readsOwnOnly(req) && (await deps.owners.get(queue, id)) !== req.principal?.name) throw new NotFoundError(`no job ${id} in ${queue}`);
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
      await auditAttempt(req, deps.audit, 'job.cancel', { queue, jobId: id });
      const result = await deps.jobs.cancel(queue, id);
      if (!result) throw new NotFoundError(`no job ${id} in ${queue}`);
      res.json({ id, queue, previousState: result.state, result: result.outcome });
    }),
  );

  return router;
}
