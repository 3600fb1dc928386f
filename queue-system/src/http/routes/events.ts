import { Router } from 'express';
import { asyncHandler, auditAttempt, type AuditLog, type EventInput, type EventPublisher } from '@event-infra/shared';
import { parseBody } from '../parse-body';
import { eventBodySchema } from '../schemas';

/**
 * `POST /events`: publishes one event to the stream; 202 `{id}`. The server sets `source`
 * (`EVENTS_API_SOURCE`), so a client cannot speak as one of the stack's services.
 */
export function eventRoutes(deps: { publisher: EventPublisher; source: string; audit: AuditLog }): Router {
  const router = Router();
  router.post(
    '/',
    asyncHandler(async (req, res) => {
      const body = parseBody(eventBodySchema, req.body, 'event');
      // As for jobs: events published by people are audited, services' are not.
      if (req.principal?.kind === 'human') await auditAttempt(req, deps.audit, 'event.publish', { stream: 'events', filter: { type: body.type } });
      // The publisher validates the envelope and family schema (InvalidEventError is a 400).
      const published = await deps.publisher.publish({ ...body, source: deps.source } as unknown as EventInput);
      res.status(202).json({ id: published.id });
    }),
  );
  return router;
}
