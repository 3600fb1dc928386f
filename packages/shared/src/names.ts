/**
 * Every queue, stream, group, channel and key prefix of the product, defined once.
 * Other modules import these; none retypes a literal.
 */

/** BullMQ queues on the queue Redis. */
export const QUEUES = {
  longRunning: 'long-running-jobs',
  asyncProcessing: 'async-processing',
  eventDriven: 'event-driven-jobs',
  deadLetter: 'dead-letter-queue',
} as const;

export type QueueName = (typeof QUEUES)[keyof typeof QUEUES];

/** Queues that run user jobs (everything but the dead-letter queue). */
export const WORK_QUEUES = [QUEUES.longRunning, QUEUES.asyncProcessing, QUEUES.eventDriven] as const;
export type WorkQueueName = (typeof WORK_QUEUES)[number];

export const ALL_QUEUES = [...WORK_QUEUES, QUEUES.deadLetter] as const;

/** Defaults of the seed for the stream and the consumer group. */
export const STREAM_DEFAULTS = {
  stream: 'pyairtable-events',
  group: 'event-processors',
} as const;

/** BullMQ key prefix on a single queue Redis. */
export const BULL_PREFIX = 'bull';

/**
 * BullMQ key prefix of `queue`: `bull` on a single Redis (the keys are unchanged:
 * `bull:<queue>:wait`), `bull:{<queue>}` on a Redis Cluster, so that every key of one queue
 * (`bull:{<queue>}:<queue>:wait`, …) shares a hash slot, as BullMQ's scripts need, while
 * different queues spread over the masters (README "Scaling").
 */
export function bullPrefix(queue: string, clustered: boolean): string {
  return clustered ? `${BULL_PREFIX}:{${queue}}` : BULL_PREFIX;
}

/** Service names, as they appear in logs, `/health` and event `source`. */
export const SERVICES = {
  queue: 'queue-processor',
  event: 'event-processor',
  dlq: 'dlq-processor',
} as const;
export type ServiceName = (typeof SERVICES)[keyof typeof SERVICES];

/** Redis roles: which of the three instances a connection talks to. */
export const REDIS_ROLES = {
  master: 'redis',
  streams: 'redis-streams',
  queue: 'redis-queue',
} as const;
export type RedisRole = (typeof REDIS_ROLES)[keyof typeof REDIS_ROLES];

/** Key prefix of everything this product stores on the master Redis. */
export const MASTER_PREFIX = 'evinfra';

/** Pub/sub channel on the master that carries each processed event, per type. */
export function eventChannel(type: string): string {
  return `${MASTER_PREFIX}:events:${type}`;
}

/** Pattern that matches every per-type event channel (for PSUBSCRIBE). */
export const EVENT_CHANNEL_PATTERN = `${MASTER_PREFIX}:events:*`;

/** Pub/sub channel on the master that carries DLQ alerts. */
export const ALERT_CHANNEL = `${MASTER_PREFIX}:alerts`;

/** Builds a key on the master Redis under the product prefix: `evinfra:<part>:<part>…`. */
export function masterKey(...parts: string[]): string {
  return [MASTER_PREFIX, ...parts].join(':');
}

/**
 * Prefix of the master keys one script writes together: the DLQ's records, indexes, counters and
 * alert history, and the audit stream (a DLQ transition appends its audit record in the same
 * script). `evinfra` on a single Redis (keys unchanged); `{evinfra}` on a Redis Cluster, so all
 * of them share one hash slot (README "Scaling": they live on one master).
 */
export function masterSlotPrefix(clustered: boolean): string {
  return clustered ? `{${MASTER_PREFIX}}` : MASTER_PREFIX;
}

/**
 * The hash tag that puts a key in the same Redis Cluster slot as `key`: the content of `key`'s own
 * tag when it has one (`pyairtable-events:{p3}` → `{p3}`), else `key` itself (Redis hashes an
 * untagged key whole, so `{pyairtable-events}` lands where `pyairtable-events` does).
 */
export function slotTagOf(key: string): string {
  const open = key.indexOf('{');
  if (open !== -1) {
    const close = key.indexOf('}', open + 1);
    if (close > open + 1) return `{${key.slice(open + 1, close)}}`;
  }
  return `{${key}}`;
}

/**
 * Reserved key in a job's `data` that carries DLQ retry metadata (`DlqRetryMeta`): the DLQ
 * processor sets it when it sends a job back to its queue; the queue processor strips it
 * before the handler runs and copies it into the next DLQ entry, so the retry count travels
 * with the job and a loop cannot run forever.
 */
export const DLQ_META_KEY = '__dlq';

/**
 * BullMQ queue (queue Redis) that holds the DLQ processor's scheduled retries as delayed
 * jobs, one per DLQ queue: `<DLQ_QUEUE_NAME>-retries` (`dead-letter-queue-retries`).
 */
export function dlqRetryQueueName(dlqQueueName: string): string {
  return `${dlqQueueName}-retries`;
}

/**
 * Pub/sub channel on the queue Redis that asks every queue-processor replica to abort an
 * active job (`{"queue","jobId"}` JSON); the one running it aborts the handler's signal.
 */
export const JOB_CANCEL_CHANNEL = `${MASTER_PREFIX}:jobs:cancel`;

/**
 * Duplicate suppression: set of the event ids one consumer group processed during one time
 * bucket (`bucket` = floor(now / window)). Lives on the streams Redis, next to the stream, so
 * the event processor writes it in the same pipeline as its XACK.
 */
export function processedEventsKey(group: string, bucket: number, clustered = false): string {
  // On a cluster the group is the hash tag: the look-up script reads two buckets of one group.
  return `${MASTER_PREFIX}:processed:${clustered ? slotTagOf(group) : group}:${bucket}`;
}

/** Prefix of the BullMQ job ids the event processor's triggers create (`evt-<trigger>-<eventId>`). */
export const TRIGGER_JOB_ID_PREFIX = 'evt';

/**
 * "Retry handled" records of one consumer group, on the streams Redis: a hash of DLQ entry
 * id → retry token, written by the event processor in the pipeline that acknowledges a
 * re-published event it handled; the DLQ processor reads it, marks the entry recovered when
 * the token matches, and deletes the field. Durable (AOF) and independent of pub/sub.
 */
export function dlqHandledKey(group: string): string {
  return `${MASTER_PREFIX}:dlq-handled:${group}`;
}

/** The audit log: one Redis stream on the master, every action of a principal (README "Audit log"). */
export const AUDIT_STREAM = masterKey('audit');

/** The audit stream's key: `AUDIT_STREAM` on a single Redis, `{evinfra}:audit` on a cluster (the DLQ's slot). */
export function auditStreamKey(clustered: boolean): string {
  return `${masterSlotPrefix(clustered)}:audit`;
}

/** Queue Redis: who submitted a job, for a `publisher` reading its own submissions (expires). */
export function jobOwnerKey(queue: string, jobId: string): string {
  return `${MASTER_PREFIX}:job-owner:${queue}:${jobId}`;
}

/**
 * Replay tasks of the event processor over the event log `stream` (STREAM_NAME), on the streams
 * Redis next to it: one hash per task (`evinfra:replay:<stream>:task:<id>`), an index of all
 * tasks by creation time and the set of running ones (the bound on concurrent replays).
 */
export function replayKeys(stream: string, clustered = false) {
  // On a cluster the stream's name is the keys' hash tag: one slot for a log's tasks (one script).
  const log = clustered ? slotTagOf(stream) : stream;
  return {
    task: (id: string): string => `${MASTER_PREFIX}:replay:${log}:task:${id}`,
    index: `${MASTER_PREFIX}:replay:${log}:index`,
    running: `${MASTER_PREFIX}:replay:${log}:running`,
  } as const;
}

/**
 * The streams of the event log `stream` split into `partitions` (STREAM_PARTITIONS): one
 * partition is the stream itself, same name (nothing changes for existing users); more are
 * `<stream>:{p<i>}`, each with its own hash tag, so Redis Cluster may place them on different
 * nodes while every key of one partition (its stream, lease, token) shares a slot.
 */
export function partitionStreams(stream: string, partitions: number): string[] {
  if (partitions <= 1) return [stream];
  return Array.from({ length: partitions }, (_, index) => `${stream}:{p${index}}`);
}

/** Partition leases of one consumer group (streams Redis, next to the partition's stream). */
export const partitionKeys = {
  /** `"<token> <owner>"` with a TTL: who reads `partitionStream` now. */
  lease: (partitionStream: string, group: string): string => `${partitionStream}:lease:${group}`,
  /** Fencing token counter: each new lease takes the next value. */
  token: (partitionStream: string, group: string): string => `${partitionStream}:lease-token:${group}`,
  /** Live processors of a group (sorted set, score = last heartbeat, ms), for the assignment. */
  members: (stream: string, group: string): string => `${MASTER_PREFIX}:members:${stream}:${group}`,
} as const;

/**
 * Reserved key in a job's `data` that carries its causality (`JobTrace`: correlation id and
 * cause). Set by the stack alone (HTTP intake, triggers, DLQ retries); stripped before the
 * handler runs like every `__…` key.
 */
export const JOB_TRACE_KEY = '__trace';

/** HTTP header a caller may send (and always gets back) on `POST /jobs` and `POST /events`. */
export const CORRELATION_HEADER = 'x-correlation-id';

/**
 * Hash tag of every timeline key on a cluster: one flush writes its bucket and the bucket
 * registry in one script call, so they share a slot (one master holds all timelines).
 */
const TIMELINE_SLOT_TAG = '{evinfra-timeline}';

/**
 * Master hash of one time bucket of the timeline: every step recorded in
 * `[startMs, startMs + widthMs)`, one field per correlation, plus the id look-ups
 * (`timeline-layout.ts` names the fields).
 */
export function timelineBucketKey(startMs: number, widthMs: number, clustered = false): string {
  return clustered ? masterKey('timeline-bucket', TIMELINE_SLOT_TAG, String(startMs), String(widthMs)) : masterKey('timeline-bucket', String(startMs), String(widthMs));
}

/** Master sorted set of the live timeline buckets (member: bucket key, score: its expiry, epoch ms). */
export function timelineBucketsKey(clustered = false): string {
  return clustered ? masterKey('timeline-buckets', TIMELINE_SLOT_TAG) : masterKey('timeline-buckets');
}

/** Type prefix of the job lifecycle family (`job.started`, …), published by the stack only. */
export const JOB_EVENT_TYPE_PREFIX = 'job.';
