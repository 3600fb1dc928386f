import { BytesCommand, EncodedBytes } from '../redis/encoded-bytes';
import { loadScript } from '../redis/lua-script';
import type { RedisClient } from '../redis/create-redis';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Logger } from '../logger';
import { timelineBucketKey, timelineBucketsKey } from '../names';
import { toError } from '../errors';
import { HandledBatchRecord, timelineBatchField, timelineBucketStartMs, timelineBucketWidthMs, timelineRefField } from './timeline-layout';
import { timelineBounds, type TimelineStepInput, type TimelineStepKind } from './timeline-step';
import type { DetailKeys } from './timeline-step-bytes';
import { PendingCall } from './timeline-pending-call';
import { JobStepForm } from './job-step-form';

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
  /**
   * Steps buffered that are sent at once rather than at the next flush interval (a quiet
   * writer waits for the interval). Default 1000 (a script call's size): the steps are bytes
   * off the JS heap (`EncodedBytes`), so a busy second's steps held for the interval are no
   * young-generation garbage to copy, and a job's `job.started` and its end sent in one call
   * are one entry of it (`PendingCall`: its field read and written once by the script).
   */
  stepsPerSend?: number;
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

/**
 * Largest first size of a call's Buffer, bytes (`callBytesHint`: a call starts a quarter larger
 * than the last one, so that a busy writer's Buffer is allocated once rather than grown from 16 KB
 * by doubling and copying; a call's 1,000 entries of two job steps take about 250 KB).
 */
const MAX_CALL_BYTES_HINT = 1 << 20;

/** Longest string kept in a step's detail, characters. */
const MAX_DETAIL_CHARS = 1024;

const SCRIPT = readFileSync(new URL('./lua/timeline-append-3.lua', import.meta.url), 'utf8');
const SCRIPT_SHA = createHash('sha1').update(SCRIPT).digest('hex');

/**
 * Steps plus look-ups per script call at most: a flush of a busy second is cut into calls of
 * this size, so one call holds the master for about a millisecond, and no HMGET/HSET unpacks
 * more than Lua's stack allows (8,000 values).
 */
const ENTRIES_PER_CALL = 1_000;

/**
 * Arguments of one HSET of batch records at most (their pointers and records, about 1,000
 * deliveries): the records of consecutive batches into one bucket wait for it, then go in one
 * command, or at the next flush.
 */
const RECORD_ARGS_PER_HSET = 2_000;

/** Batch records of one bucket not sent yet: their HSET's arguments as bytes, their deliveries. */
interface PendingRecords {
  bytes: EncodedBytes;
  deliveries: number;
}

/**
 * `detail` with its strings cut at `MAX_DETAIL_CHARS`: the same object when none is that long
 * (the common case: no copy; `encodeStep`'s JSON leaves undefined values out either way).
 */
function boundedDetail(detail: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  if (detail === undefined) return undefined;
  for (const key in detail) {
    const value = detail[key];
    if (typeof value === 'string' && value.length > MAX_DETAIL_CHARS) return cutDetail(detail);
  }
  return detail;
}

function cutDetail(detail: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(detail)) {
    if (value === undefined) continue;
    out[key] = typeof value === 'string' && value.length > MAX_DETAIL_CHARS ? `${value.slice(0, MAX_DETAIL_CHARS)}…` : value;
  }
  return out;
}

/**
 * Records timeline steps on the master Redis (README "Timeline"). `record` never blocks nor
 * throws: steps are buffered and written by one script call per flush (every flush interval,
 * or once `stepsPerSend` steps wait); a failed write is logged and the steps are dropped (the
 * timeline is diagnostics, the work goes on).
 */
export class TimelineRecorder {
  private readonly logger: Logger;
  private readonly flushIntervalMs: number;
  private readonly maxBuffered: number;
  private readonly stepsPerSend: number;
  private readonly headSize: number;
  private readonly tailSize: number;
  private readonly bucketWidthMs: number;
  /** The service name as a JSON string, and in UTF-8, once (every step carries it). */
  private readonly serviceJson: string;
  private readonly serviceBytes: Buffer;
  /** First size of the next call's Buffer: a quarter more than the last call's bytes (at most `MAX_CALL_BYTES_HINT`; 0: EncodedBytes' default). */
  private callBytesHint = 0;
  /** The detail keys' bytes (`writeStep`). */
  private readonly detailKeys: DetailKeys = new Map();
  private calls: PendingCall[] = [];
  /** Steps buffered. */
  private buffered = 0;
  /** Buckets batch records were written to since the last flush (its script sets their expiry and registers them), with their expiry. */
  private recordBuckets = new Map<string, number>();
  /** Batch records sealed and not sent yet, per bucket (`recordHandled`). */
  private pendingRecords = new Map<string, PendingRecords>();
  /** Batch record writes sent and not answered yet; deliveries of batch records pending or sent and not answered. */
  private readonly recordWrites = new Set<Promise<void>>();
  private recordDeliveriesInFlight = 0;
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
    this.stepsPerSend = options.stepsPerSend ?? ENTRIES_PER_CALL;
    ({ headSize: this.headSize, tailSize: this.tailSize } = timelineBounds(options.maxSteps));
    this.bucketWidthMs = timelineBucketWidthMs(options.retentionSec);
    this.serviceJson = JSON.stringify(options.service);
    this.serviceBytes = Buffer.from(this.serviceJson, 'utf8');
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
    if (!this.admit()) return;
    const call = this.currentCall();
    call.addStep(correlationId, step, this.serviceBytes, step.atMs ?? this.now(), boundedDetail(step.detail), this.detailKeys);
    // An event that is its own correlation needs no look-up: `?eventId=` tries the id itself first.
    if (refs?.eventId !== undefined && refs.eventId !== correlationId) {
      call.refs.addPair(timelineRefField('event', refs.eventId), correlationId);
      call.refCount += 1;
    }
    if (refs?.job !== undefined) {
      call.refs.addPair(timelineRefField('job', refs.job), correlationId);
      call.refCount += 1;
    }
    this.countBuffered();
  }

  /**
   * The form of one kind of job step of `queue` whose detail is `{[firstKey]: number,
   * [secondKey]: number}` (`job.started` with `attempt`, `maxAttempts`; `job.completed` with
   * `attempt`, `durationMs`), for `recordJobStep`: made once per queue (the job runner's).
   */
  jobStepForm(kind: TimelineStepKind, queue: string, firstKey: string, secondKey: string): JobStepForm {
    return new JobStepForm(kind, queue, firstKey, secondKey, this.serviceJson);
  }

  /**
   * Buffers the step `form.input(jobId, cause, first, second, atMs)` of `correlationId`, as
   * `record` would (the same stored bytes), written from the form's bytes made once: no step
   * or detail object, no subject string (the job drain's two steps per job, docs/benchmarks/timeline-cost.md).
   */
  recordJobStep(correlationId: string, form: JobStepForm, jobId: string, cause: string | undefined, first: number, second: number, atMs?: number): void {
    if (!form.fits(first, second)) return this.record(correlationId, form.input(jobId, cause, first, second, atMs));
    if (!this.admit()) return;
    this.currentCall().addJobStep(correlationId, form, jobId, cause, atMs ?? this.now(), first, second);
    this.countBuffered();
  }

  /** Whether one more step may be buffered: not while closing, and not past `maxBuffered` (counted as dropped). */
  private admit(): boolean {
    if (this.closing !== undefined) return false;
    if (this.buffered < this.maxBuffered) return true;
    this.dropped += 1;
    return false;
  }

  /** Counts a buffered step: a send when `stepsPerSend` are buffered, else the flush timer. */
  private countBuffered(): void {
    this.buffered += 1;
    if (this.buffered >= this.stepsPerSend) void this.flush();
    else this.schedule();
  }

  /** The call the next step goes into: the last one, or a new one when it has no room for a step and two look-ups. */
  private currentCall(): PendingCall {
    const call = this.calls[this.calls.length - 1];
    if (call !== undefined && call.entries + 3 <= ENTRIES_PER_CALL) return call;
    const created = new PendingCall(this.callBytesHint || undefined);
    this.calls.push(created);
    return created;
  }

  /** An empty batch record named for this recorder: fill it, then `recordHandled` it. */
  handledBatch(): HandledBatchRecord {
    this.batchSeq += 1;
    return new HandledBatchRecord(timelineBatchField(this.writerId, this.batchSeq));
  }

  /**
   * Writes the `event.handled` steps of a batch of first deliveries that succeeded, each event
   * its own correlation (no `correlationid`, or its own id): one record for the batch and one
   * pointer field per event, named by its id, as `deliveries` collected them (from
   * `handledBatch`), with plain HSETs (README "Timeline: batch records"): the fields are unique
   * per batch and per event id, so nothing needs reading first. The sealed record's text is
   * copied into its bucket's pending bytes at once (off the JS heap: its strings die young, no
   * scavenge copies or promotes bytes held for the flush), and the records of consecutive
   * batches go in ONE HSET, sent once about 1,000 deliveries wait (`RECORD_ARGS_PER_HSET`) or at
   * the next flush, whose script then sets the bucket's expiry and registers it: one command,
   * socket write and reply per 1,000 deliveries rather than per batch. At most `maxBuffered`
   * deliveries are pending or in flight (more are dropped and counted); `readTimeline` expands
   * them into the same steps `record` would have stored.
   */
  recordHandled(consumer: string | undefined, deliveries: HandledBatchRecord): void {
    if (this.closing !== undefined || deliveries.size === 0) return;
    const count = deliveries.size;
    if (this.recordDeliveriesInFlight + count > this.maxBuffered) {
      this.dropped += count;
      return;
    }
    const nowMs = this.now();
    const bucketStart = timelineBucketStartMs(nowMs, this.bucketWidthMs);
    const bucket = timelineBucketKey(bucketStart, this.bucketWidthMs, this.deps.redis.isCluster);
    if (!this.recordBuckets.has(bucket)) this.recordBuckets.set(bucket, bucketStart + this.bucketWidthMs + this.options.retentionSec * 1_000);
    this.recordDeliveriesInFlight += count;
    let pending = this.pendingRecords.get(bucket);
    const writes = deliveries.seal(nowMs, this.options.service, consumer);
    for (let index = 0; index < writes.length; index += 1) {
      const args = writes[index]!;
      if (pending !== undefined && pending.bytes.size + args.size > RECORD_ARGS_PER_HSET) {
        this.sendRecords(bucket, pending);
        pending = undefined;
      }
      if (pending === undefined) this.pendingRecords.set(bucket, (pending = { bytes: new EncodedBytes(), deliveries: 0 }));
      pending.bytes.addEncodedText(args.text(), args.size);
      // A slice's deliveries: its pointers (two arguments each); the last slice holds the record's pair too.
      pending.deliveries += args.size / 2 - (index === writes.length - 1 ? 1 : 0);
    }
    if (pending !== undefined && pending.bytes.size >= RECORD_ARGS_PER_HSET) this.sendRecords(bucket, pending);
    this.schedule();
  }

  /** Sends the pending batch records of `bucket` (one HSET). */
  private sendRecords(bucket: string, pending: PendingRecords): void {
    if (this.pendingRecords.get(bucket) === pending) this.pendingRecords.delete(bucket);
    const count = pending.deliveries;
    const settle = () => {
      this.recordWrites.delete(sent);
      this.recordDeliveriesInFlight -= count;
    };
    const sent: Promise<void> = (this.deps.redis.sendCommand(new BytesCommand('hset', [bucket], [pending.bytes], this.deps.redis.options.keyPrefix)) as Promise<unknown>).then(settle, (caught: unknown) => {
      settle();
      this.dropped += count;
      this.logger.warn({ err: toError(caught), steps: count }, 'timeline steps not written');
    });
    this.recordWrites.add(sent);
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
    const calls = this.calls;
    const steps = this.buffered;
    const recordBuckets = this.recordBuckets;
    // Batch records still pending go now, before the script that sets their buckets' expiry.
    for (const [bucket, pending] of this.pendingRecords) this.sendRecords(bucket, pending);
    const recordWrites = [...this.recordWrites];
    const last = calls[calls.length - 1];
    if (last !== undefined) this.callBytesHint = Math.min(MAX_CALL_BYTES_HINT, Math.ceil(1.25 * last.steps.piecesLength));
    this.calls = [];
    this.recordBuckets = new Map();
    this.buffered = 0;
    this.flushing = this.flushing.then(async () => {
      // The batch records sent so far are answered before the script sets their buckets' expiry.
      if (recordWrites.length > 0) await Promise.all(recordWrites);
      if (calls.length > 0 || recordBuckets.size > 0) await this.write(calls, steps, recordBuckets);
    });
    return this.flushing;
  }

  /**
   * One flush: the script `calls` (`steps` steps) into the bucket of now, and one call without
   * steps per other bucket batch records were written to (`recordBuckets`: it sets that
   * bucket's expiry and registers it).
   */
  private async write(calls: readonly PendingCall[], steps: number, recordBuckets: ReadonlyMap<string, number>, isRetry = false): Promise<void> {
    // On a cluster both keys carry the `{evinfra-timeline}` tag: one slot.
    const clustered = this.deps.redis.isCluster;
    const nowMs = this.now();
    const bucket = timelineBucketKey(timelineBucketStartMs(nowMs, this.bucketWidthMs), this.bucketWidthMs, clustered);
    const registry = timelineBucketsKey(clustered);
    const expireAtMs = timelineBucketStartMs(nowMs, this.bucketWidthMs) + this.bucketWidthMs + this.options.retentionSec * 1_000;
    const keyPrefix = this.deps.redis.options.keyPrefix;
    const head = [SCRIPT_SHA, 2, bucket, registry, this.headSize, this.tailSize, expireAtMs, nowMs];
    // Without steps, one call still sets the bucket's expiry and registers it (batch records).
    const commands = (calls.length > 0 ? calls : [new PendingCall()]).map((call) => call.command(head, keyPrefix));
    for (const [other, otherExpireAtMs] of recordBuckets) {
      if (other !== bucket) commands.push(new PendingCall().command([SCRIPT_SHA, 2, other, registry, this.headSize, this.tailSize, otherExpireAtMs, nowMs], keyPrefix));
    }
    try {
      // Each call sent on its own, no pipeline (usually one per flush): ioredis writes them in
      // order, as a pipeline would, without the pipeline's objects and its reply bookkeeping.
      const replies = await Promise.all(
        commands.map((command) =>
          (this.deps.redis.sendCommand(command) as Promise<unknown>).then(
            (): Error | undefined => undefined,
            (caught: unknown) => toError(caught),
          ),
        ),
      );
      if (!isRetry && replies.some((err) => err?.message.startsWith('NOSCRIPT'))) {
        // The master does not know the script yet (first write, or it restarted): load it and
        // write again, once; the script's writes happened for no step of this flush.
        await loadScript(this.deps.redis, SCRIPT);
        return await this.write(calls, steps, recordBuckets, true);
      }
      const failed = replies.filter((err) => err !== undefined);
      if (failed.length > 0) {
        this.dropped += failed.length;
        this.logger.warn({ err: failed[0], failed: failed.length }, 'timeline steps not written');
      }
    } catch (caught) {
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
