import { Queue, type JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import {
  AppError,
  BULL_PREFIX,
  DLQ_META_KEY,
  SERVICES,
  createEventPublisher,
  validateEvent,
  type DlqRetryMeta,
  type EventPublisher,
  type Logger,
} from '@event-infra/shared';
import type { RetryTarget, StoredEntry } from './stored-entry';

export interface OriginSenderDeps {
  /** Producer client on the queue Redis (origin queues). */
  queueRedis: Redis;
  /** Producer client on the streams Redis (origin streams). */
  streamsRedis: Redis;
  logger: Logger;
  /** `STREAM_MAXLEN_APPROX` for re-published events. */
  streamMaxLenApprox: number;
}

/** Options of the original job worth keeping on a retry (contract: as given at submission). */
const KEPT_JOB_OPTIONS = ['priority', 'attempts', 'backoff', 'timeoutMs'] as const;

/** BullMQ job id of retry `retry` of a job: deterministic, so a repeated send adds once. */
export function retryJobId(originalJobId: string, retry: number): string {
  return `${originalJobId}-dlq-r${retry}`.replaceAll(':', '_');
}

/**
 * Sends a stored failure back to its origin. A job goes to its queue under a new id with
 * fresh attempts and `data[DLQ_META_KEY] = {entryId, retries}`; an event goes back onto its
 * stream with the SAME envelope id and `dlqretries`/`dlqentryid`.
 */
export class OriginSender {
  private readonly queues = new Map<string, Queue>();
  private readonly publishers = new Map<string, EventPublisher>();

  constructor(private readonly deps: OriginSenderDeps) {}

  /** Throws `AppError('conflict')` for an entry that cannot be sent back (invalid event, non-object data). */
  async send(entry: StoredEntry, retry: number): Promise<RetryTarget> {
    return entry.origin.kind === 'job' ? this.sendJob(entry, entry.origin, retry) : this.sendEvent(entry, entry.origin.stream, retry);
  }

  /** Where `send(entry, retry)` will put it (the event's stream entry id is known only after). */
  plannedTarget(entry: StoredEntry, retry: number): RetryTarget {
    return entry.origin.kind === 'job'
      ? { kind: 'job', queue: entry.origin.queue, jobId: retryJobId(entry.origin.jobId, retry) }
      : { kind: 'event', stream: entry.origin.stream, eventId: entry.origin.eventId ?? '', streamId: '' };
  }

  /** Checks, without sending, that `entry` could be sent back. */
  assertRetryable(entry: StoredEntry): void {
    if (entry.origin.kind === 'job') this.jobData(entry, 0);
    else this.envelope(entry, 0);
  }

  private jobData(entry: StoredEntry, retry: number): Record<string, unknown> {
    if (typeof entry.data !== 'object' || entry.data === null || Array.isArray(entry.data)) {
      throw new AppError('conflict', `entry ${entry.id} has no object job data to send back`);
    }
    const meta: DlqRetryMeta = { entryId: entry.id, retries: retry };
    return { ...(entry.data as Record<string, unknown>), [DLQ_META_KEY]: meta };
  }

  private envelope(entry: StoredEntry, retry: number) {
    try {
      return validateEvent({ ...(entry.data as Record<string, unknown>), dlqretries: retry, dlqentryid: entry.id });
    } catch (caught) {
      throw new AppError('conflict', `entry ${entry.id} is not a valid event and cannot be re-published`, undefined, { cause: caught });
    }
  }

  private async sendJob(entry: StoredEntry, origin: { queue: string; jobId: string; opts?: Record<string, unknown> | undefined }, retry: number): Promise<RetryTarget> {
    const data = this.jobData(entry, retry);
    const opts: Record<string, unknown> = {};
    for (const name of KEPT_JOB_OPTIONS) if (origin.opts?.[name] !== undefined) opts[name] = origin.opts[name];
    const jobId = retryJobId(origin.jobId, retry);
    await this.queue(origin.queue).add(entry.name, data, { ...(opts as JobsOptions), jobId });
    this.deps.logger.info({ entryId: entry.id, queue: origin.queue, jobId, retry }, 'job sent back to its queue');
    return { kind: 'job', queue: origin.queue, jobId };
  }

  private async sendEvent(entry: StoredEntry, stream: string, retry: number): Promise<RetryTarget> {
    const event = this.envelope(entry, retry);
    const published = await this.publisher(stream).publishEnvelope(event);
    this.deps.logger.info({ entryId: entry.id, stream, eventId: event.id, retry }, 'event sent back to its stream');
    return { kind: 'event', stream, eventId: event.id, streamId: published.streamId };
  }

  private queue(name: string): Queue {
    let queue = this.queues.get(name);
    if (queue === undefined) {
      queue = new Queue(name, { connection: this.deps.queueRedis, prefix: BULL_PREFIX });
      this.queues.set(name, queue);
    }
    return queue;
  }

  private publisher(stream: string): EventPublisher {
    let publisher = this.publishers.get(stream);
    if (publisher === undefined) {
      publisher = createEventPublisher(
        { stream, source: SERVICES.dlq, maxLenApprox: this.deps.streamMaxLenApprox },
        { redis: this.deps.streamsRedis, logger: this.deps.logger },
      );
      this.publishers.set(stream, publisher);
    }
    return publisher;
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.queues.values()].map((queue) => queue.close()));
    this.queues.clear();
  }
}
