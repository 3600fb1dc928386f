import { JOB_EVENT_TYPE_PREFIX, eventCorrelation, type EventEnvelope, type HandledBatchRecord, type SpanHandle, type TimelineRecorder, type Tracing } from '@event-infra/shared';
import type { Router } from './router';

/** What the two engines (consumer group, partitions) record of each delivery. */
export interface DeliveryTraceDeps {
  router: Router;
  /** Absent: TIMELINE_ENABLED off. */
  timeline?: TimelineRecorder | undefined;
  /** Absent: OTEL_EXPORTER_OTLP_ENDPOINT unset. */
  tracing?: Tracing | undefined;
}

export interface Delivery {
  entryId: string;
  event: EventEnvelope;
  deliveries: number;
  consumer: string | undefined;
}

/**
 * One timeline step per delivery (README "Timeline"): consumer, delivery count, stream entry and
 * every handler's outcome. `job.*` events are left out: the queue processor records those facts
 * in the job's own steps. The first delivery also makes `?eventId=` find the correlation.
 */
export function recordDelivery(deps: DeliveryTraceDeps, delivery: Delivery, err: Error | undefined): void {
  const { event } = delivery;
  if (deps.timeline === undefined || event.type.startsWith(JOB_EVENT_TYPE_PREFIX)) return;
  const handlers = deps.router.routesFor(event.type).map((route) => route.name);
  deps.timeline.record(
    eventCorrelation(event),
    {
      kind: err === undefined ? 'event.handled' : 'event.handler-failed',
      subject: event.id,
      cause: event.causationid,
      detail: {
        type: event.type,
        source: event.source,
        entryId: delivery.entryId,
        deliveries: delivery.deliveries,
        ...(delivery.consumer !== undefined ? { consumer: delivery.consumer } : {}),
        handlers,
        ...(err !== undefined ? { error: err.message } : {}),
      },
    },
    delivery.deliveries === 1 ? { eventId: event.id } : undefined,
  );
}

/**
 * True when a successful delivery's step may go into its batch's record (`HandledBatch`): a
 * first delivery of an event that is its own correlation (no `correlationid`, or its own id),
 * not a `job.*` event. The reader expands such a record into the step `recordDelivery` writes.
 */
export function isBatchedDelivery(event: EventEnvelope, deliveries: number): boolean {
  return deliveries === 1 && (event.correlationid === undefined || event.correlationid === event.id) && !event.type.startsWith(JOB_EVENT_TYPE_PREFIX);
}

/**
 * The `event.handled` steps of one batch's successful first deliveries, written as one record
 * (`TimelineRecorder.recordHandled`): no step object, detail or JSON per event.
 */
export class HandledBatch {
  private readonly collected: HandledBatchRecord;
  private readonly handlersOf: (type: string) => string[];

  constructor(
    router: Router,
    private readonly timeline: TimelineRecorder,
  ) {
    this.collected = timeline.handledBatch();
    this.handlersOf = (type) => router.routesFor(type).map((route) => route.name);
  }

  add(entryId: string, event: EventEnvelope): void {
    this.collected.add(event.id, entryId, event.type, event.source, event.causationid, this.handlersOf);
  }

  /** Hands the batch's record to the recorder (once the batch's handlers are done). */
  record(consumer: string | undefined): void {
    this.timeline.recordHandled(consumer, this.collected);
  }
}

/** The span of one delivery, child of the event's trace context, linked to its batch's span. */
export function startDeliverySpan(tracing: Tracing, delivery: Delivery, batch: SpanHandle | undefined): SpanHandle {
  const { event } = delivery;
  return tracing.start(`process ${event.type}`, {
    kind: 'consumer',
    parent: event.traceparent !== undefined ? { traceparent: event.traceparent, tracestate: event.tracestate } : undefined,
    links: batch !== undefined ? [batch.traceparent] : undefined,
    attributes: {
      'messaging.operation.type': 'process',
      'messaging.message.id': event.id,
      'messaging.stream.entry_id': delivery.entryId,
      'messaging.delivery_count': delivery.deliveries,
      ...(delivery.consumer !== undefined ? { 'messaging.consumer.name': delivery.consumer } : {}),
    },
  });
}

/** The span of one batch read, linked to the trace context of each of its events. */
export function startBatchSpan(tracing: Tracing, stream: string, group: string, events: readonly EventEnvelope[]): SpanHandle {
  const links: string[] = [];
  for (const event of events) if (event.traceparent !== undefined) links.push(event.traceparent);
  return tracing.start(`process batch ${stream}`, {
    kind: 'consumer',
    links,
    attributes: { 'messaging.destination.name': stream, 'messaging.consumer.group.name': group, 'messaging.batch.message_count': events.length },
  });
}
