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

/**
 * A batch record: `[at (epoch ms), service, consumer | 0, [[type, handlers]…], [[eventId,
 * entryId, type index, source, cause | 0]…]]`, one JSON text for the whole batch.
 */
export function encodeHandledBatch(atMs: number, service: string, consumer: string | undefined, deliveries: readonly HandledDelivery[]): string {
  const types = new Map<string, number>();
  const typeList: [string, readonly string[]][] = [];
  const items: [string, string, number, string, string | 0][] = [];
  for (const delivery of deliveries) {
    let typeIndex = types.get(delivery.type);
    if (typeIndex === undefined) {
      typeIndex = typeList.length;
      types.set(delivery.type, typeIndex);
      typeList.push([delivery.type, delivery.handlers]);
    }
    items.push([delivery.eventId, delivery.entryId, typeIndex, delivery.source, delivery.cause ?? 0]);
  }
  return JSON.stringify([atMs, service, consumer ?? 0, typeList, items]);
}

/** What `readTimeline` needs of one delivery in a batch record; undefined when it is not one of ours. */
export function decodeHandledDelivery(
  record: string,
  index: number,
): { atMs: number; service: string; consumer: string | undefined; delivery: HandledDelivery } | undefined {
  try {
    const [atMs, service, consumer, typeList, items] = JSON.parse(record) as [number, string, string | 0, [string, string[]][], [string, string, number, string, string | 0][]];
    const item = items[index];
    const type = item === undefined ? undefined : typeList[item[2]];
    if (item === undefined || type === undefined || typeof atMs !== 'number' || typeof service !== 'string') return undefined;
    return {
      atMs,
      service,
      consumer: consumer === 0 ? undefined : consumer,
      delivery: { eventId: item[0], entryId: item[1], type: type[0], source: item[3], cause: item[4] === 0 ? undefined : item[4], handlers: type[1] },
    };
  } catch {
    // Not JSON: not written by a recorder; its step is skipped rather than failing the answer.
    return undefined;
  }
}
