import { EncodedArgs } from '../redis/encoded-args';

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
 * `#<omitted>` (see `lua/timeline-append-3.lua`).
 */
export function timelineStepsField(correlationId: string): string {
  return `${STEPS_FIELD_PREFIX}${correlationId}`;
}

/** What `timelineStepsField` puts before the correlation id (for writers that pass the field in pieces). */
export const STEPS_FIELD_PREFIX = 'c:';

/** Field of an id look-up in a bucket: an event id or a job (`<queue>:<jobId>`) → its correlation id. */
export function timelineRefField(kind: 'event' | 'job', id: string): string {
  return kind === 'event' ? `e:${id}` : `j:${id}`;
}

/**
 * Field of a batch record in a bucket (`recordHandled`): what the `event.handled` steps of one
 * batch of first deliveries share, `writerId` unique per recorder, `seq` its count of batches.
 */
export function timelineBatchField(writerId: string, seq: number): string {
  return `b:${writerId}:${seq}`;
}

/**
 * Field of the `event.handled` step of event `eventId` in a batch record, the event being its
 * own correlation; its value is `<batch field> <entry id> <kind index>[ <cause>]` (the kind
 * index names the event's type, source and handlers in the record).
 */
export function timelineHandledField(eventId: string): string {
  return `${HANDLED_FIELD_PREFIX}${eventId}`;
}

const HANDLED_FIELD_PREFIX = 'h:';

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

/** Deliveries per HSET of a batch record, at most (a batch of `EVENT_BATCH_SIZE` 10,000 is cut in ten). */
const DELIVERIES_PER_HSET = 1_000;

/**
 * The `event.handled` steps of one batch of first deliveries, collected as the HSET arguments
 * they are written with, RESP-encoded as they come (`EncodedArgs`): no object, array or JSON
 * per event. Per delivery its field (`timelineHandledField`) and one string
 * `<batch field> <entry id> <kind>[ <cause>]`; per batch the record (`seal`):
 * `[at (epoch ms), service, consumer | 0, [[type, source, handlers]…]]`, the kinds of the batch
 * (most batches have one). Made by `TimelineRecorder.handledBatch`, which names its field.
 */
export class HandledBatchRecord {
  /** The HSETs' arguments: the deliveries' pointers, then (once sealed) the record. */
  readonly writes: EncodedArgs[] = [new EncodedArgs()];
  private readonly prefix: string;
  private readonly kinds: [string, string, readonly string[]][] = [];
  private kindIndex: Map<string, number> | undefined;
  private lastType: string | undefined;
  private lastSource: string | undefined;
  /** ` <kind index>` of the last delivery's type and source. */
  private lastSuffix = '';
  private count = 0;

  constructor(readonly field: string) {
    this.prefix = `${field} `;
  }

  /** Adds one delivery; `handlersOf` is called once per type and source of the batch. */
  add(eventId: string, entryId: string, type: string, source: string, cause: string | undefined, handlersOf: (type: string) => readonly string[]): void {
    if (type !== this.lastType || source !== this.lastSource) this.lastSuffix = ` ${this.kindOf(type, source, handlersOf)}`;
    let args = this.writes[this.writes.length - 1]!;
    if (args.size >= 2 * DELIVERIES_PER_HSET) this.writes.push((args = new EncodedArgs()));
    // The field is `timelineHandledField(eventId)`, passed in pieces: no string per delivery.
    if (cause === undefined) args.addPairOfPieces(HANDLED_FIELD_PREFIX, eventId, this.prefix, entryId, this.lastSuffix);
    else args.addPair(timelineHandledField(eventId), `${this.prefix}${entryId}${this.lastSuffix} ${cause}`);
    this.count += 1;
  }

  private kindOf(type: string, source: string, handlersOf: (type: string) => readonly string[]): number {
    this.lastType = type;
    this.lastSource = source;
    // The type's length first: unambiguous whatever the two strings hold.
    const key = `${type.length}:${type}${source}`;
    this.kindIndex ??= new Map();
    let index = this.kindIndex.get(key);
    if (index === undefined) {
      index = this.kinds.length;
      this.kindIndex.set(key, index);
      this.kinds.push([type, source, handlersOf(type)]);
    }
    return index;
  }

  /** Deliveries added. */
  get size(): number {
    return this.count;
  }

  /**
   * Adds the record itself (call once) and returns the HSETs' arguments, each joined into one
   * string now (`EncodedArgs.text`): what the recorder keeps until its flush.
   */
  seal(atMs: number, service: string, consumer: string | undefined): EncodedArgs[] {
    this.writes[this.writes.length - 1]!.addPair(this.field, JSON.stringify([atMs, service, consumer ?? 0, this.kinds]));
    for (const args of this.writes) args.text();
    return this.writes;
  }
}

/** What `readTimeline` needs of one delivery in a batch record; undefined when it is not one of ours. */
export function decodeHandledDelivery(
  eventId: string,
  pointer: string,
  record: string,
): { atMs: number; service: string; consumer: string | undefined; delivery: HandledDelivery } | undefined {
  // `<batch field> <entry id> <kind>[ <cause>]`: the field and the entry id hold no space.
  const afterField = pointer.indexOf(' ');
  const afterEntry = pointer.indexOf(' ', afterField + 1);
  if (afterField === -1 || afterEntry === -1) return undefined;
  const afterKind = pointer.indexOf(' ', afterEntry + 1);
  const entryId = pointer.slice(afterField + 1, afterEntry);
  const kindIndex = Number(pointer.slice(afterEntry + 1, afterKind === -1 ? undefined : afterKind));
  const cause = afterKind === -1 ? undefined : pointer.slice(afterKind + 1);
  try {
    const [atMs, service, consumer, kinds] = JSON.parse(record) as [number, string, string | 0, [string, string, string[]][]];
    const kind = Array.isArray(kinds) ? kinds[kindIndex] : undefined;
    if (kind === undefined || typeof atMs !== 'number' || typeof service !== 'string') return undefined;
    return {
      atMs,
      service,
      consumer: consumer === 0 ? undefined : consumer,
      delivery: { eventId, entryId, type: kind[0], source: kind[1], cause, handlers: kind[2] },
    };
  } catch {
    // Not JSON: not written by a recorder; its step is skipped rather than failing the answer.
    return undefined;
  }
}
