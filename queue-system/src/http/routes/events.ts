import { Router } from 'express';
import { randomUUID } from 'node:crypto';
import {
  asyncHandler,
  auditAttempt,
  requestCorrelation,
  sendCorrelation,
  traceRequest,
  type AuditLog,
  type EventInput,
  type EventPublisher,
  type TimelineRecorder,
  type Tracing,
} from '@event-infra/shared';
import { parseBody } from '../parse-body';
import { eventBodySchema } from '../schemas';

/**
 * `POST /events`: publishes one event to the stream; 202 `{id, correlationid, traceparent?}`
 * (`traceparent` only when the event carries one). The server sets `source`
 * (`EVENTS_API_SOURCE`), so a client cannot speak as one of the stack's services.
 */
export function eventRoutes(deps: {
  publisher: EventPublisher;
  source: string;
  audit: AuditLog;
  timeline?: TimelineRecorder | undefined;
  /** OpenTelemetry (absent: OTEL_EXPORTER_OTLP_ENDPOINT unset, no span). */
  tracing?: Tracing | undefined;
}): Router {
  const router = Router();
  router.post(
    '/',
    asyncHandler(async (req, res) => {
      const trace = traceRequest(req, res, deps.tracing, '/events');
      const body = parseBody(eventBodySchema, req.body, 'event');
      // As for jobs: events published by people are audited, services' are not.
      if (req.principal?.kind === 'human') await auditAttempt(req, deps.audit, 'event.publish', { stream: 'events', filter: { type: body.type } });
      // An event without a correlation starts its own: the correlation id is the event's id.
      const id = randomUUID();
      const correlationid = requestCorrelation(req, (body as { correlationid?: string }).correlationid, () => id);
      // Taken before the XADD: the event processor may record its steps before the publish returns.
      const atMs = Date.now();
      // The publisher validates the envelope and family schema (InvalidEventError is a 400).
      const input = { ...body, id, correlationid, source: deps.source, ...trace.context } as unknown as EventInput;
      // The event carries the publish span's context (its consumers' spans become its children);
      // tracing off, the caller's context or none (README "Trace context").
      let traceparent = trace.context?.traceparent;
      const published =
        deps.tracing === undefined
          ? await deps.publisher.publish(input)
          : await deps.tracing.inSpan(`publish ${body.type}`, { kind: 'producer', parent: trace.context, attributes: { 'messaging.operation.type': 'send', 'messaging.message.id': id } }, (span) => {
              traceparent = span.traceparent;
              return deps.publisher.publish({ ...input, traceparent });
            });
      deps.timeline?.record(
        correlationid,
        { kind: 'event.published', subject: published.id, cause: (body as { causationid?: string }).causationid, detail: { type: published.type, source: deps.source, via: 'http' }, atMs },
        { eventId: published.id },
      );
      sendCorrelation(res, correlationid);
      res.status(202).json({ id: published.id, correlationid, ...(traceparent !== undefined ? { traceparent } : {}) });
    }),
  );
  return router;
}
