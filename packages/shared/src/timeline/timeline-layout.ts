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
