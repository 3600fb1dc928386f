import { z } from 'zod';
import { MAX_TRACESTATE_CHARS, TRACEPARENT_PATTERN, TRACESTATE_PATTERN } from '../trace/trace-context';

/**
 * The event envelope, with CloudEvents 1.0 attribute names. `data` is validated per type by
 * the family schemas; the envelope alone checks the attributes.
 */
export const SPEC_VERSION = '1.0' as const;

/** Dotted lowercase: `workspace.created`, `auth.session.expired`. */
export const EVENT_TYPE_PATTERN = /^[a-z][a-z0-9]*(?:[.-][a-z0-9]+)+$/;

export const envelopeSchema = z.object({
  id: z.uuid(),
  type: z.string().regex(EVENT_TYPE_PATTERN, 'must be dotted lowercase, e.g. workspace.created'),
  source: z.string().min(1).max(256),
  time: z.iso.datetime({ offset: true }),
  specversion: z.literal(SPEC_VERSION),
  subject: z.string().min(1).max(512).optional(),
  correlationid: z.string().min(1).max(256).optional(),
  causationid: z.string().min(1).max(256).optional(),
  /**
   * CloudEvents `partitionkey` extension: the key that picks the partition (else `subject`,
   * else `id`); events with one key keep their order (README "Partitions").
   */
  partitionkey: z.string().min(1).max(256).optional(),
  data: z.record(z.string(), z.unknown()),
  /**
   * Extension attributes set by the DLQ processor when it sends a dead event back onto the
   * stream: how many times it did (the count travels with the event) and the DLQ entry id.
   */
  dlqretries: z.coerce.number().int().nonnegative().optional(),
  dlqentryid: z.string().min(1).max(256).optional(),
  /**
   * CloudEvents distributed-tracing extension: the W3C trace context of the event's producer
   * (version 00; README "Trace context"). Set by the stack on what it publishes.
   */
  traceparent: z.string().regex(TRACEPARENT_PATTERN).optional(),
  tracestate: z.string().min(1).max(MAX_TRACESTATE_CHARS).regex(TRACESTATE_PATTERN).optional(),
});

export type EventEnvelope<TData extends Record<string, unknown> = Record<string, unknown>> = Omit<
  z.output<typeof envelopeSchema>,
  'data'
> & { data: TData };

/** What a caller hands the publisher: `id`, `time`, `specversion` and `source` are filled in. */
export type EventInput<TData extends Record<string, unknown> = Record<string, unknown>> = Omit<
  EventEnvelope<TData>,
  'id' | 'time' | 'specversion' | 'source'
> &
  Partial<Pick<EventEnvelope<TData>, 'id' | 'time' | 'specversion' | 'source'>>;
