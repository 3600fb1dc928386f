import { createBatch } from '../redis/batch';
import { loadScript } from '../redis/lua-script';
import type { RedisClient } from '../redis/create-redis';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Logger } from '../logger';
import { timelineBucketKey, timelineBucketsKey } from '../names';
import { toError } from '../errors';
import { timelineBatchField, timelineBucketStartMs, timelineBucketWidthMs, timelineHandledField, timelineRefField, timelineStepsField, type HandledBatchRecord } from './timeline-layout';
import { encodeStep, timelineBounds, type TimelineStepInput } from './timeline-step';

export interface TimelineOptions {
  /** Service name stored with each step. */
  service: string;
  /** `TIMELINE_RETENTION_SEC`: a step (and an id look-up) is kept this long at least: its bucket expires this long after the bucket's end. */
  retentionSec: number;
  /** `TIMELINE_MAX_STEPS`: steps kept per correlation (the first half and the last half). */
  maxSteps: number;
  /** Buffered steps are written at most this often, ms. Default 50. */
  flushIntervalMs?: number;
  /** Steps buffered at most; beyond that, steps are dropped and counted. Default 10000. */
  maxBuffered?: number;
}

export interface TimelineRefs {
  /** Event id whose look-up (`?eventId=`) should find this correlation. */
  eventId?: string | undefined;
  /** `<queue>:<jobId>` whose look-up (`?jobId=&queue=`) should find this correlation. */
  job?: string | undefined;
}

export interface TimelineRecorderDeps {
  redis: RedisClient;
  logger: Logger;
  /** Epoch ms of a step and of the bucket a flush writes to. Default `Date.now`. */
  clock?: () => number;
}

/** Longest string kept in a step's detail, characters. */
const MAX_DETAIL_CHARS = 1024;

const SCRIPT = readFileSync(new URL('./lua/timeline-append-2.lua', import.meta.url), 'utf8');
const SCRIPT_SHA = createHash('sha1').update(SCRIPT).digest('hex');

/**
 * Steps, and fields (correlations plus look-ups), per script call at most: a flush of a busy
 * second is cut into calls of this size, so one call holds the master for about a millisecond,
 * and no HMGET/HSET unpacks more than Lua's stack allows (8,000 values).
 */
const STEPS_PER_CALL = 1_000;
const FIELDS_PER_CALL = 1_000;

interface Pending {
  correlationId: string;
  step: string;
  refs: TimelineRefs | undefined;
}

/** One batch of handled deliveries, encoded: its record and the event ids it covers, in order. */
interface PendingBatch {
  /** Its field in the bucket, named when recorded (a retried write writes the same fields). */
  field: string;
  record: string;
  eventIds: string[];
}

/** Fields per plain HSET of batch records and their pointers. */
const BATCH_FIELDS_PER_HSET = 1_000;

function boundedDetail(detail: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  if (detail === undefined) return undefined;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(detail)) {
    if (value === undefined) continue;
    out[key] = typeof value === 'string' && value.length > MAX_DETAIL_CHARS ? `${value.slice(0, MAX_DETAIL_CHARS)}…` : value;
  }
  return out;
}

/**
 * Records timeline steps on the master Redis (README "Timeline"). `record` never blocks nor
 * throws: steps are buffered and written in one pipeline per flush interval; a failed write
 * is logged and the steps are dropped (the timeline is diagnostics, the work goes on).
 */
export class TimelineRecorder {
  private readonly logger: Logger;
  private readonly flushIntervalMs: number;
  private readonly maxBuffered: number;
  private readonly headSize: number;
  private readonly tailSize: number;
  private readonly bucketWidthMs: number;
  private buffer: Pending[] = [];
  private batches: PendingBatch[] = [];
  /** Steps buffered (steps and the deliveries of batch records). */
  private buffered = 0;
  /** Names this recorder's batch records (with `batchSeq`), unique among writers. */
  private readonly writerId = randomBytes(6).toString('base64url');
  private batchSeq = 0;
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();
  private closing: Promise<void> | undefined;
  /** Steps dropped (buffer full or write failed), since start. */
  dropped = 0;

  constructor(
    private readonly options: TimelineOptions,
    private readonly deps: TimelineRecorderDeps,
  ) {
    this.logger = deps.logger.child({ component: 'timeline' });
    this.flushIntervalMs = options.flushIntervalMs ?? 50;
    this.maxBuffered = options.maxBuffered ?? 10_000;
    ({ headSize: this.headSize, tailSize: this.tailSize } = timelineBounds(options.maxSteps));
    this.bucketWidthMs = timelineBucketWidthMs(options.retentionSec);
  }

  private now(): number {
    return this.deps.clock?.() ?? Date.now();
  }

  /** `TIMELINE_MAX_STEPS` (what `readTimeline` needs to cut the stored list). */
  get maxSteps(): number {
    return this.options.maxSteps;
  }

  /** Buffers one step of `correlationId`'s timeline. */
  record(correlationId: string, step: TimelineStepInput, refs?: TimelineRefs): void {
    if (this.closing !== undefined) return;
    if (this.buffered >= this.maxBuffered) {
      this.dropped += 1;
      return;
    }
    const stored = encodeStep(step, this.options.service, step.atMs ?? this.now(), boundedDetail(step.detail));
    this.buffer.push({ correlationId, step: stored, refs });
    this.buffered += 1;
    this.schedule();
  }

  /**
   * Buffers the `event.handled` steps of a batch of first deliveries that succeeded, each event
   * its own correlation (no `correlationid`, or its own id): one record for the batch, and per
   * event a pointer field named by its id (`HandledBatchRecord` collects them), written with a plain HSET (README "Timeline: batch
   * records"). `readTimeline` expands them into the same steps `record` would have stored.
   */
  recordHandled(consumer: string | undefined, deliveries: HandledBatchRecord): void {
    if (this.closing !== undefined || deliveries.size === 0) return;
    if (this.buffered + deliveries.size > this.maxBuffered) {
      this.dropped += deliveries.size;
      return;
    }
    this.batchSeq += 1;
    this.batches.push({ field: timelineBatchField(this.writerId, this.batchSeq), record: deliveries.encode(this.now(), this.options.service, consumer), eventIds: deliveries.eventIds });
    this.buffered += deliveries.size;
    this.schedule();
  }

  private schedule(): void {
    if (this.timer === undefined) {
      this.timer = setTimeout(() => void this.flush(), this.flushIntervalMs);
      this.timer.unref();
    }
  }

  /** Writes what is buffered now (chained after a flush in progress). */
  flush(): Promise<void> {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    const steps = this.buffer;
    const batches = this.batches;
    this.buffer = [];
    this.batches = [];
    this.buffered = 0;
    this.flushing = this.flushing.then(() => (steps.length > 0 || batches.length > 0 ? this.write(steps, batches) : undefined));
    return this.flushing;
  }

  /**
   * The script calls of one flush, all into the bucket of `nowMs`: steps grouped per correlation
   * in recording order (joined by newlines), look-ups after them.
   */
  private calls(batch: Pending[], nowMs: number, keys: string[]): { keys: string[]; args: (string | number)[] }[] {
    const bucketStart = timelineBucketStartMs(nowMs, this.bucketWidthMs);
    const expireAtMs = bucketStart + this.bucketWidthMs + this.options.retentionSec * 1_000;
    const byCorrelation = new Map<string, string[]>();
    const refs = new Map<string, string>();
    for (const pending of batch) {
      const steps = byCorrelation.get(pending.correlationId);
      if (steps === undefined) byCorrelation.set(pending.correlationId, [pending.step]);
      else steps.push(pending.step);
      // An event that is its own correlation needs no look-up: `?eventId=` tries the id itself first.
      if (pending.refs?.eventId !== undefined && pending.refs.eventId !== pending.correlationId) refs.set(timelineRefField('event', pending.refs.eventId), pending.correlationId);
      if (pending.refs?.job !== undefined) refs.set(timelineRefField('job', pending.refs.job), pending.correlationId);
    }
    const calls: { keys: string[]; args: (string | number)[] }[] = [];
    let args: (string | number)[] = [];
    let correlations = 0;
    let steps = 0;
    const cut = (refArgs: string[] = []): void => {
      args.push(refArgs.length / 2, ...refArgs);
      calls.push({ keys, args: [this.headSize, this.tailSize, expireAtMs, nowMs, correlations, ...args] });
      args = [];
      correlations = 0;
      steps = 0;
    };
    for (const [correlationId, all] of byCorrelation) {
      const field = timelineStepsField(correlationId);
      for (let from = 0; from < all.length; from += STEPS_PER_CALL) {
        const chunk = all.length <= STEPS_PER_CALL ? all : all.slice(from, from + STEPS_PER_CALL);
        if (correlations > 0 && (steps + chunk.length > STEPS_PER_CALL || correlations >= FIELDS_PER_CALL)) cut();
        // Chunks of one correlation go to separate calls: a call holds a field at most once.
        args.push(field, chunk.length, chunk.length === 1 ? chunk[0]! : chunk.join('\n'));
        correlations += 1;
        steps += chunk.length;
        if (chunk !== all && from + STEPS_PER_CALL < all.length) cut();
      }
    }
    const refArgs: string[] = [];
    for (const [field, correlationId] of refs) {
      if (correlations + refArgs.length / 2 >= FIELDS_PER_CALL) {
        cut(refArgs.splice(0, refArgs.length));
      }
      refArgs.push(field, correlationId);
    }
    cut(refArgs);
    return calls;
  }

  /**
   * The plain HSETs of the batch records and their pointers (`e:`-less: the event id is the
   * correlation): fields unique per batch and per event id, so no read is needed before the
   * write. They follow the script in the same round (the script sets the bucket's expiry).
   */
  private batchWrites(batches: PendingBatch[]): string[][] {
    const writes: string[][] = [];
    let fields: string[] = [];
    for (const { field, record, eventIds } of batches) {
      fields.push(field, record);
      for (let index = 0; index < eventIds.length; index += 1) fields.push(timelineHandledField(eventIds[index]!), `${field} ${index}`);
      if (fields.length >= 2 * BATCH_FIELDS_PER_HSET) {
        writes.push(fields);
        fields = [];
      }
    }
    if (fields.length > 0) writes.push(fields);
    return writes;
  }

  private async write(batch: Pending[], batches: PendingBatch[], isRetry = false): Promise<void> {
    // On a cluster both keys carry the `{evinfra-timeline}` tag: one slot.
    const clustered = this.deps.redis.isCluster;
    const nowMs = this.now();
    const keys = [timelineBucketKey(timelineBucketStartMs(nowMs, this.bucketWidthMs), this.bucketWidthMs, clustered), timelineBucketsKey(clustered)];
    const calls = this.calls(batch, nowMs, keys);
    const pipeline = createBatch(this.deps.redis);
    for (const { args } of calls) pipeline.evalsha(SCRIPT_SHA, keys.length, ...keys, ...args);
    if (batches.length > 0) {
      for (const fields of this.batchWrites(batches)) pipeline.hset(keys[0]!, ...fields);
      // Even when the script failed, the bucket these HSETs may have created expires.
      pipeline.pexpireat(keys[0]!, timelineBucketStartMs(nowMs, this.bucketWidthMs) + this.bucketWidthMs + this.options.retentionSec * 1_000);
    }
    try {
      const replies = (await pipeline.exec()) ?? [];
      if (!isRetry && replies.some(([err]) => err?.message.startsWith('NOSCRIPT'))) {
        // The master does not know the script yet (first write, or it restarted): load it and
        // write the batch again, once; the script's writes happened for no step of this batch
        // (the batch records' HSETs did: writing them again is harmless, same fields and values).
        await loadScript(this.deps.redis, SCRIPT);
        return await this.write(batch, batches, true);
      }
      const failed = replies.filter(([err]) => err);
      if (failed.length > 0) {
        this.dropped += failed.length;
        this.logger.warn({ err: failed[0]![0], failed: failed.length }, 'timeline steps not written');
      }
    } catch (caught) {
      const steps = batch.length + batches.reduce((sum, { eventIds }) => sum + eventIds.length, 0);
      this.dropped += steps;
      this.logger.warn({ err: toError(caught), steps }, 'timeline steps not written');
    }
  }

  /** Flushes what is buffered and stops recording; idempotent. */
  close(): Promise<void> {
    this.closing ??= this.flush();
    return this.closing;
  }
}

/** The recorder of a service from its config, or undefined when `TIMELINE_ENABLED` is off. */
export function createTimelineRecorder(
  config: { TIMELINE_ENABLED: boolean; TIMELINE_RETENTION_SEC: number; TIMELINE_MAX_STEPS: number },
  service: string,
  deps: { redis: RedisClient; logger: Logger },
): TimelineRecorder | undefined {
  if (!config.TIMELINE_ENABLED) return undefined;
  return new TimelineRecorder({ service, retentionSec: config.TIMELINE_RETENTION_SEC, maxSteps: config.TIMELINE_MAX_STEPS }, deps);
}
