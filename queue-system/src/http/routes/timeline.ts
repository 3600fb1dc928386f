import { Router } from 'express';
import { z } from 'zod';
import {
  NotFoundError,
  ValidationError,
  asyncHandler,
  correlationIdSchema,
  readTimeline,
  resolveCorrelation,
  type RedisClient,
  type TimelineQuery,
} from '@event-infra/shared';

const querySchema = z
  .strictObject({
    correlationid: correlationIdSchema.optional(),
    eventId: z.string().min(1).max(256).optional(),
    jobId: z.string().min(1).max(256).optional(),
    queue: z.string().min(1).max(256).optional(),
  })
  .refine((query) => [query.correlationid, query.eventId, query.jobId].filter((value) => value !== undefined).length === 1, {
    message: 'give exactly one of correlationid, eventId, jobId (with queue)',
  })
  .refine((query) => (query.jobId === undefined) === (query.queue === undefined), { message: 'jobId and queue go together' });

function toQuery(raw: unknown): TimelineQuery {
  const parsed = querySchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const where = issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
    throw new ValidationError(`invalid timeline query: ${where}${issue.message}`, parsed.error.issues.map(({ path, message }) => ({ path, message })));
  }
  const query = parsed.data;
  if (query.correlationid !== undefined) return { correlationId: query.correlationid };
  if (query.eventId !== undefined) return { eventId: query.eventId };
  return { queue: query.queue!, jobId: query.jobId! };
}

/**
 * `GET /timeline?correlationid=…` (or `?eventId=…`, `?jobId=…&queue=…`): the ordered steps of
 * one correlation from the master Redis (README "Timeline"); 404 when none is stored.
 */
export function timelineRoutes(deps: { master: RedisClient; maxSteps: number }): Router {
  const router = Router();
  router.get(
    '/',
    asyncHandler(async (req, res) => {
      const query = toQuery({ ...req.query });
      const correlationId = await resolveCorrelation(deps.master, query);
      const timeline = correlationId === undefined ? undefined : await readTimeline(deps.master, correlationId, deps.maxSteps);
      if (timeline === undefined) throw new NotFoundError('no timeline for that query (never recorded, or past TIMELINE_RETENTION_SEC)');
      res.json(timeline);
    }),
  );
  return router;
}
