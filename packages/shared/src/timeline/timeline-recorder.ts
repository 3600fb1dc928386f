import { createBatch } from '../redis/batch';
import { loadScript } from '../redis/lua-script';
import type { RedisClient } from '../redis/create-redis';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Logger } from '../logger';
import { timelineKey, timelineRefKey } from '../names';
import { toError } from '../errors';
import { encodeStep, timelineBounds, type TimelineStepInput } from './timeline-step';

export interface TimelineOptions {
  /** Service name stored with each step. */
  service: string;
  /** `TIMELINE_RETENTION_SEC`: a timeline (and its id look-ups) expires this long after its last step. */
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

/** Longest string kept in a step's detail, characters. */
const MAX_DETAIL_CHARS = 1024;

const SCRIPT = readFileSync(new URL('./lua/timeline-append-n.lua', import.meta.url), 'utf8');
const SCRIPT_SHA = createHash('sha1').update(SCRIPT).digest('hex');

/**
 * Steps per script call at most: a flush of a busy second is cut into calls of this size, so
 * one call holds the master for about a millisecond, and no RPUSH unpacks more than Lua's stack allows.
 */
const STEPS_PER_CALL = 1_000;

interface Pending {
  correlationId: string;
  step: string;
  refs: TimelineRefs | undefined;
}

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
  private buffer: Pending[] = [];
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();
  private closing: Promise<void> | undefined;
  /** Steps dropped (buffer full or write failed), since start. */
  dropped = 0;

  constructor(
    private readonly options: TimelineOptions,
    private readonly deps: { redis: RedisClient; logger: Logger },
  ) {
    this.logger = deps.logger.child({ component: 'timeline' });
    this.flushIntervalMs = options.flushIntervalMs ?? 50;
    this.maxBuffered = options.maxBuffered ?? 10_000;
    ({ headSize: this.headSize, tailSize: this.tailSize } = timelineBounds(options.maxSteps));
  }

  /** `TIMELINE_MAX_STEPS` (what `readTimeline` needs to cut the stored list). */
  get maxSteps(): number {
    return this.options.maxSteps;
  }

  /** Buffers one step of `correlationId`'s timeline. */
  record(correlationId: string, step: TimelineStepInput, refs?: TimelineRefs): void {
    if (this.closing !== undefined) return;
    if (this.buffer.length >= this.maxBuffered) {
      this.dropped += 1;
      return;
    }
    const stored = encodeStep(step, this.options.service, step.atMs ?? Date.now(), boundedDetail(step.detail));
    this.buffer.push({ correlationId, step: stored, refs });
    if (this.timer === undefined) {
      this.timer = setTimeout(() => void this.flush(), this.flushIntervalMs);
      this.timer.unref();
    }
  }

  /** Writes what is buffered now (chained after a flush in progress). */
  flush(): Promise<void> {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.buffer;
    this.buffer = [];
    this.flushing = this.flushing.then(() => (batch.length > 0 ? this.write(batch) : undefined));
    return this.flushing;
  }

  /** The script calls of one flush: steps grouped per correlation in recording order, look-ups after. */
  private calls(batch: Pending[]): { keys: string[]; args: (string | number)[] }[] {
    // On a cluster every timeline key carries the `{evinfra-timeline}` tag: a call's lists and
    // look-ups are in one slot.
    const clustered = this.deps.redis.isCluster;
    const byCorrelation = new Map<string, string[]>();
    const refs = new Map<string, string>();
    for (const pending of batch) {
      const steps = byCorrelation.get(pending.correlationId);
      if (steps === undefined) byCorrelation.set(pending.correlationId, [pending.step]);
      else steps.push(pending.step);
      // An event that is its own correlation needs no look-up: `?eventId=` tries the id itself first.
      if (pending.refs?.eventId !== undefined && pending.refs.eventId !== pending.correlationId) refs.set(timelineRefKey('event', pending.refs.eventId, clustered), pending.correlationId);
      if (pending.refs?.job !== undefined) refs.set(timelineRefKey('job', pending.refs.job, clustered), pending.correlationId);
    }
    const calls: { keys: string[]; args: (string | number)[] }[] = [];
    let lists: string[] = [];
    let stepArgs: (string | number)[] = [];
    let size = 0;
    const cut = (refKeys: string[] = [], refValues: string[] = []): void => {
      calls.push({ keys: [...lists, ...refKeys], args: [this.headSize, this.tailSize, this.options.retentionSec, lists.length, ...stepArgs, ...refValues] });
      lists = [];
      stepArgs = [];
      size = 0;
    };
    for (const [correlationId, steps] of byCorrelation) {
      const key = timelineKey(correlationId, clustered);
      for (let from = 0; from < steps.length; from += STEPS_PER_CALL) {
        const chunk = steps.length <= STEPS_PER_CALL ? steps : steps.slice(from, from + STEPS_PER_CALL);
        if (size + chunk.length > STEPS_PER_CALL && size > 0) cut();
        lists.push(key);
        stepArgs.push(chunk.length, ...chunk);
        size += chunk.length;
      }
    }
    cut([...refs.keys()], [...refs.values()]);
    return calls;
  }

  private async write(batch: Pending[], isRetry = false): Promise<void> {
    const calls = this.calls(batch);
    const pipeline = createBatch(this.deps.redis);
    for (const { keys, args } of calls) pipeline.evalsha(SCRIPT_SHA, keys.length, ...keys, ...args);
    try {
      const replies = (await pipeline.exec()) ?? [];
      if (!isRetry && replies.some(([err]) => err?.message.startsWith('NOSCRIPT'))) {
        // The master does not know the script yet (first write, or it restarted): load it and
        // write the batch again, once; the script's writes happened for no step of this batch.
        await loadScript(this.deps.redis, SCRIPT);
        return await this.write(batch, true);
      }
      const failed = replies.filter(([err]) => err);
      if (failed.length > 0) {
        this.dropped += failed.length;
        this.logger.warn({ err: failed[0]![0], failed: failed.length }, 'timeline steps not written');
      }
    } catch (caught) {
      this.dropped += batch.length;
      this.logger.warn({ err: toError(caught), steps: batch.length }, 'timeline steps not written');
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
