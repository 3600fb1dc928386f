import { Router } from 'express';
import { randomUUID } from 'node:crypto';
import { asyncHandler, auditAttempt, requestCorrelation, sendCorrelation, type AuditLog, type EventInput, type EventPublisher, type TimelineRecorder } from '@event-infra/shared';
import { parseBody } from '../parse-body';
import { eventBodySchema } from '../schemas';

/**
 * `POST /events`: publishes one event to the stream; 202 `{id}`. The server sets `source`
 * (`EVENTS_API_SOURCE`), so a client cannot speak as one of the stack's services.
 */
export function eventRoutes(deps: { publisher: EventPublisher; source: string; audit: AuditLog; timeline?: TimelineRecorder | undefined }): Router {
  const router = Router();
  router.post(
    '/',
    asyncHandler(async (req, res) => {
      const body = parseBody(eventBodySchema, req.body, 'event');
      // As for jobs: events published by people are audited, services' are not.
      if (req.principal?.kind === 'human') await auditAttempt(req, deps.audit, 'event.publish', { stream: 'events', filter: { type: body.type } });
      // An event without a correlation starts its own: the correlation id is the event's id.
      const id = randomUUID();
      const correlationid = requestCorrelation(req, (body as { correlationid?: string }).correlationid, () => id);
      // Taken before the XADD: the event processor may record its steps before the publish returns.
      const atMs = Date.now();
      // The publisher validates the envelope and family schema (InvalidEventError is a 400).
      const published = await deps.publisher.publish({ ...body, id, correlationid, source: deps.source } as unknown as EventInput);
      deps.timeline?.record(
        correlationid,
        { kind: 'event.published', subject: published.id, cause: (body as { causationid?: string }).causationid, detail: { type: published.type, source: deps.source, via: 'http' }, atMs },
        { eventId: published.id },
      );
      sendCorrelation(res, correlationid);
      res.status(202).json({ id: published.id, correlationid });
    }),
  );
  return router;
}
