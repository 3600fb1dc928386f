/**
 * Where the timeline lives on the master (README "Timeline"): time buckets, one hash each,
 * holding every step recorded in the bucket's time span (a field per correlation) and the id
 * look-ups (a field per event or job). A step costs a field in an existing hash, not a key of
 * its own; a bucket expires as a whole, `TIMELINE_RETENTION_SEC` after its end.
 */

/** Buckets a retention window is cut into: a read looks at about this many hashes. */
export const TIMELINE_BUCKETS_PER_RETENTION = 128;

/** Live buckets one read looks at, at most (writers with several retentions add theirs). */
export const TIMELINE_MAX_BUCKETS_READ = 1_024;

/** Width of a bucket for a retention, ms: a 128th of it, at least one second. */
export function timelineBucketWidthMs(retentionSec: number): number {
  return Math.max(1_000, Math.ceil((retentionSec * 1_000) / TIMELINE_BUCKETS_PER_RETENTION));
}

/** Start of the bucket holding `atMs` (epoch ms). */
export function timelineBucketStartMs(atMs: number, widthMs: number): number {
  return atMs - (atMs % widthMs);
}

/**
 * Field of a correlation's steps in a bucket. Its value is one stored step (a JSON array), or
 * `<count>\n<step>\n<step>…` once it holds several, where one line may be the marker
 * `#<omitted>` (see `lua/timeline-append-2.lua`).
 */
export function timelineStepsField(correlationId: string): string {
  return `c:${correlationId}`;
}

/** Field of an id look-up in a bucket: an event id or a job (`<queue>:<jobId>`) → its correlation id. */
export function timelineRefField(kind: 'event' | 'job', id: string): string {
  return kind === 'event' ? `e:${id}` : `j:${id}`;
}

/**
 * Field of a batch record in a bucket (`recordHandled`): the `event.handled` steps of one batch
 * of first deliveries, `writerId` unique per recorder, `seq` its count of batches.
 */
export function timelineBatchField(writerId: string, seq: number): string {
  return `b:${writerId}:${seq}`;
}

/**
 * Field pointing at the batch record that holds the `event.handled` step of event `eventId`,
 * the event being its own correlation; its value is `<batch field> <index in the record>`.
 */
export function timelineHandledField(eventId: string): string {
  return `h:${eventId}`;
}

/** One successful first delivery of an event that is its own correlation. */
export interface HandledDelivery {
  eventId: string;
  entryId: string;
  type: string;
  source: string;
  cause?: string | undefined;
  /** Names of the handlers that ran (the same for every event of one type). */
  handlers: readonly string[];
}

/** Values per delivery in a batch record's flat list: event id, entry id, type index, source, cause | 0. */
const ITEM_SIZE = 5;

/**
 * The `event.handled` steps of one batch of first deliveries, collected without an object per
 * event, and encoded as one record: `[at (epoch ms), service, consumer | 0, [[type, handlers]…],
 * [eventId, entryId, type index, source, cause | 0, …]]` (one JSON text for the whole batch).
 */
export class HandledBatchRecord {
  readonly eventIds: string[] = [];
  private readonly items: (string | number)[] = [];
  private readonly types = new Map<string, number>();
  private readonly typeList: [string, readonly string[]][] = [];

  /** Adds one delivery; `handlersOf` is called once per type of the batch. */
  add(eventId: string, entryId: string, type: string, source: string, cause: string | undefined, handlersOf: (type: string) => readonly string[]): void {
    let typeIndex = this.types.get(type);
    if (typeIndex === undefined) {
      typeIndex = this.typeList.length;
      this.types.set(type, typeIndex);
      this.typeList.push([type, handlersOf(type)]);
    }
    this.eventIds.push(eventId);
    this.items.push(eventId, entryId, typeIndex, source, cause ?? 0);
  }

  get size(): number {
    return this.eventIds.length;
  }

  encode(atMs: number, service: string, consumer: string | undefined): string {
    return JSON.stringify([atMs, service, consumer ?? 0, this.typeList, this.items]);
  }
}

/** The record of `deliveries` (what `HandledBatchRecord` collects), for callers holding objects. */
export function handledBatchRecord(deliveries: readonly HandledDelivery[]): HandledBatchRecord {
  const record = new HandledBatchRecord();
  for (const delivery of deliveries) record.add(delivery.eventId, delivery.entryId, delivery.type, delivery.source, delivery.cause, () => delivery.handlers);
  return record;
}

/** What `readTimeline` needs of one delivery in a batch record; undefined when it is not one of ours. */
export function decodeHandledDelivery(
  record: string,
  index: number,
): { atMs: number; service: string; consumer: string | undefined; delivery: HandledDelivery } | undefined {
  try {
    const [atMs, service, consumer, typeList, items] = JSON.parse(record) as [number, string, string | 0, [string, string[]][], (string | number)[]];
    const at = index * ITEM_SIZE;
    const [eventId, entryId, typeIndex, source, cause] = items.slice(at, at + ITEM_SIZE) as [string, string, number, string, string | 0];
    const type = typeList[typeIndex];
    if (typeof eventId !== 'string' || type === undefined || typeof atMs !== 'number' || typeof service !== 'string') return undefined;
    return {
      atMs,
      service,
      consumer: consumer === 0 ? undefined : consumer,
      delivery: { eventId, entryId, type: type[0], source, cause: cause === 0 ? undefined : cause, handlers: type[1] },
    };
  } catch {
    // Not JSON: not written by a recorder; its step is skipped rather than failing the answer.
    return undefined;
  }
}
