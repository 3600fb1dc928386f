import {
  buildEventDeadLetterEntry,
  buildInvalidEntryDeadLetter,
  INVALID_ENTRY_NAME,
  isPermanentError,
  toError,
  type DeadLetterEntry,
  type DeadLetterSink,
  type EventEnvelope,
  type Logger,
  type WireFields,
} from '@event-infra/shared';
import type { ProcessorMetrics } from './processor-metrics';

/** Characters of an oversized entry's fields the DLQ keeps (README "Event processor"). */
export const OVERSIZE_STORED_CHARS = 65_536;

/** A stream entry larger than `EVENT_MAX_ENTRY_BYTES`: dead-lettered unread. */
export class EntryTooLargeError extends Error {
  readonly reason = 'entry_too_large';
  readonly permanent = true;

  constructor(sizeBytes: number, maxBytes: number) {
    super(`stream entry is ${sizeBytes} bytes, over EVENT_MAX_ENTRY_BYTES (${maxBytes})`);
    this.name = 'EntryTooLargeError';
  }
}

/** Bytes of an entry's fields (names and values; characters when read as strings). */
export function entrySize(fields: WireFields): number {
  let total = 0;
  for (const field of fields) total += field.length;
  return total;
}

/**
 * Writes the event processor's DLQ records through the shared builders, so a poison entry
 * (empty, missing, repeated, binary or huge fields) always gets a record the DLQ schema
 * accepts. Resolves false only when the DLQ could not be reached (the entry stays pending);
 * a record the schema refuses is replaced by a minimal one, never retried forever.
 */
export class EventDeadLetters {
  constructor(
    private readonly options: { stream: string; group: string; maxEntryBytes: number },
    private readonly deps: { dlq: DeadLetterSink; metrics: ProcessorMetrics; logger: Logger },
  ) {}

  /** A stream entry that is not a valid event (or too large): its raw fields, bounded. True once in the DLQ. */
  async invalid(entryId: string, fields: WireFields, err: Error, deliveries: number, sizeBytes?: number): Promise<boolean> {
    const entry = buildInvalidEntryDeadLetter({
      stream: this.options.stream,
      group: this.options.group,
      entryId,
      fields,
      error: err,
      deliveries,
      maxStoredChars: sizeBytes === undefined ? this.options.maxEntryBytes : OVERSIZE_STORED_CHARS,
      sizeBytes,
    });
    const sent = await this.send(entry, { entryId, reason: err.message.slice(0, 256) });
    if (sent) this.deps.metrics.count('invalid');
    return sent;
  }

  /** A valid event whose handlers failed for good, stored once (as `data`). True once in the DLQ. */
  event(entryId: string, event: EventEnvelope, err: Error, deliveries: number, firstFailedAt: string): Promise<boolean> {
    const { stream, group } = this.options;
    const entry = buildEventDeadLetterEntry({ stream, group, entryId, event, error: err, deliveries, firstFailedAt, lastFailedAt: new Date().toISOString() });
    return this.send(entry, { entryId, eventId: event.id, type: event.type, deliveries, reason: err.message.slice(0, 256) });
  }

  /** Adds to the DLQ; on a Redis failure the entry stays pending (never acknowledged unrecorded). */
  private async send(entry: DeadLetterEntry, context: Record<string, unknown>): Promise<boolean> {
    try {
      await this.deps.dlq.add(entry);
    } catch (caught) {
      const err = toError(caught);
      // A record the DLQ schema refuses is refused forever: keep a minimal record instead of
      // leaving the entry pending (it would come back every claim and hold the trim point).
      if (!isPermanentError(err)) {
        this.deps.logger.error({ err, ...context }, 'DLQ add failed; entry stays pending');
        return false;
      }
      this.deps.logger.error({ err, ...context }, 'DLQ record refused; storing a minimal record');
      const outcome = await this.sendMinimal(entry, err, context);
      if (outcome !== 'stored') return outcome === 'dropped';
    }
    this.deps.metrics.count('deadLettered');
    this.deps.logger.warn(context, 'entry sent to the DLQ');
    return true;
  }

  /**
   * The record of last resort: origin and error only, which the schema always accepts. When even
   * that is refused (a bug), the entry is acknowledged anyway with an error log: retrying could
   * never succeed and would hold the trim point for good.
   */
  private async sendMinimal(entry: DeadLetterEntry, refusal: Error, context: Record<string, unknown>): Promise<'stored' | 'dropped' | 'pending'> {
    const now = new Date().toISOString();
    try {
      await this.deps.dlq.add({
        kind: 'event',
        origin: { kind: 'event', stream: this.options.stream, group: this.options.group, entryId: String(context.entryId) },
        name: INVALID_ENTRY_NAME,
        data: null,
        error: { message: refusal.message, code: 'dlq_record_refused', permanent: true },
        attempts: Number.isSafeInteger(entry.attempts) && entry.attempts >= 0 ? entry.attempts : 0,
        firstFailedAt: now,
        lastFailedAt: now,
        dlqRetries: 0,
      });
      return 'stored';
    } catch (caught) {
      const err = toError(caught);
      if (!isPermanentError(err)) return 'pending';
      this.deps.logger.error({ err, ...context }, 'minimal DLQ record refused too; entry acknowledged without a record');
      return 'dropped';
    }
  }
}
