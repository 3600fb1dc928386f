import type { RedisClient } from '@event-infra/shared';
import type { JobsOptions } from 'bullmq';
import { Job, Queue } from '@event-infra/shared/bullmq';
import {
  AppError,
  bullPrefix,
  DLQ_META_KEY,
  SERVICES,
  createEventPublisher,
  encodeEventRetryRef,
  keptJobOptions,
  retryJobData,
  retryJobId,
  validateEvent,
  type EventPublisher,
  type Logger,
  type Tracing,
} from '@event-infra/shared';
import type { RetryTarget, StoredEntry } from './stored-entry';

export interface OriginSenderDeps {
  /** Producer client on the queue Redis (origin queues). */
  queueRedis: RedisClient;
  /** Producer client on the streams Redis (origin streams). */
  streamsRedis: RedisClient;
  logger: Logger;
  /** `STREAM_MAXLEN_APPROX` for re-published events. */
  streamMaxLenApprox: number;
  /** A `dlq retry` span per send, whose context the retry carries (absent: OTEL_EXPORTER_OTLP_ENDPOINT unset). */
  tracing?: Tracing | undefined;
}

/** A job with the retry's id exists and is not this retry (its data lacks the token): nothing was sent. */
export class RetryIdTakenError extends AppError {
  constructor(queue: string, jobId: string) {
    super('conflict', `retry job id ${jobId} on ${queue} is already taken by another job; the entry stays parked`);
    this.name = 'RetryIdTakenError';
  }
}

/**
 * Sends a stored failure back to its origin. A job goes to its queue under an id the client
 * cannot predict (`retryJobId`, from the entry's retry token) with fresh attempts and
 * `data.__dlq = {entryId, retries, token}`; the job found under that id afterwards must carry
 * the token (create and verify), or the send fails with `RetryIdTakenError`. An event goes
 * back onto its stream with the SAME envelope id, `dlqretries` and `dlqentryid` =
 * `<entryId>.<token>`.
 */
export class OriginSender {
  private readonly queues = new Map<string, Queue>();
  private readonly publishers = new Map<string, EventPublisher>();

  constructor(private readonly deps: OriginSenderDeps) {}

  /** Throws `AppError('conflict')` for an entry that cannot be sent back (invalid event, non-object data). */
  async send(entry: StoredEntry, retry: number, token: string, mode: 'auto' | 'manual' = 'auto'): Promise<RetryTarget> {
    const { tracing } = this.deps;
    if (tracing === undefined) return this.sendTo(entry, retry, token);
    // The retry continues the failure's trace, as a child of this span.
    const parent = entry.traceparent !== undefined ? { traceparent: entry.traceparent, tracestate: entry.tracestate } : undefined;
    return tracing.inSpan('dlq retry', { kind: 'producer', parent, attributes: { 'dlq.entry_id': entry.id, 'dlq.retry': retry, 'dlq.mode': mode } }, (span) =>
      this.sendTo({ ...entry, traceparent: span.traceparent }, retry, token),
    );
  }

  private sendTo(entry: StoredEntry, retry: number, token: string): Promise<RetryTarget> {
    return entry.origin.kind === 'job' ? this.sendJob(entry, entry.origin, retry, token) : this.sendEvent(entry, entry.origin.stream, retry, token);
  }

  /** Where `send(entry, retry, token)` will put it (the event's stream entry id is known only after). */
  plannedTarget(entry: StoredEntry, retry: number, token: string): RetryTarget {
    return entry.origin.kind === 'job'
      ? { kind: 'job', queue: entry.origin.queue, jobId: retryJobId(entry.origin.jobId, retry, token) }
      : { kind: 'event', stream: entry.origin.stream, eventId: entry.origin.eventId ?? '', streamId: '' };
  }

  /** Checks, without sending, that `entry` could be sent back. */
  assertRetryable(entry: StoredEntry): void {
    if (entry.origin.kind === 'job') this.jobData(entry, 0, '0'.repeat(32));
    else this.envelope(entry, 0, '0'.repeat(32));
  }

  private jobData(entry: StoredEntry, retry: number, token: string): Record<string, unknown> {
    if (typeof entry.data !== 'object' || entry.data === null || Array.isArray(entry.data)) {
      throw new AppError('conflict', `entry ${entry.id} has no object job data to send back`);
    }
    return retryJobData(entry.data as Record<string, unknown>, { entryId: entry.id, retries: retry, token }, {
      correlationId: entry.correlationId,
      traceparent: entry.traceparent,
      tracestate: entry.tracestate,
    });
  }

  private envelope(entry: StoredEntry, retry: number, token: string) {
    try {
      // A replayed event keeps its id and correlation; its cause becomes the DLQ entry.
      return validateEvent({
        ...(entry.data as Record<string, unknown>),
        ...(entry.correlationId !== undefined ? { correlationid: entry.correlationId, causationid: entry.id } : {}),
        // The replay continues the failure's trace (the DLQ's retry span when tracing is on).
        ...(entry.traceparent !== undefined ? { traceparent: entry.traceparent, tracestate: entry.tracestate } : {}),
        dlqretries: retry,
        dlqentryid: encodeEventRetryRef(entry.id, token),
      });
    } catch (caught) {
      throw new AppError('conflict', `entry ${entry.id} is not a valid event and cannot be re-published`, undefined, { cause: caught });
    }
  }

  private async sendJob(entry: StoredEntry, origin: { queue: string; jobId: string; opts?: Record<string, unknown> | undefined }, retry: number, token: string): Promise<RetryTarget> {
    const data = this.jobData(entry, retry, token);
    const jobId = retryJobId(origin.jobId, retry, token);
    const queue = this.queue(origin.queue);
    await queue.add(entry.name, data, { ...(keptJobOptions(origin.opts) as JobsOptions), jobId });
    // BullMQ does not add a job whose id exists: verify that the job under this id is ours.
    const job = await Job.fromId(queue, jobId);
    const meta = (job?.data as Record<string, unknown> | undefined)?.[DLQ_META_KEY] as { token?: unknown; entryId?: unknown } | undefined;
    if (job === undefined || meta?.token !== token || meta.entryId !== entry.id) {
      // Gone already (completed and removed) cannot be told apart from "never ours": only a present job proves it.
      if (job !== undefined) throw new RetryIdTakenError(origin.queue, jobId);
    }
    this.deps.logger.info({ entryId: entry.id, queue: origin.queue, jobId, retry }, 'job sent back to its queue');
    return { kind: 'job', queue: origin.queue, jobId };
  }

  private async sendEvent(entry: StoredEntry, stream: string, retry: number, token: string): Promise<RetryTarget> {
    const event = this.envelope(entry, retry, token);
    const published = await this.publisher(stream).publishEnvelope(event);
    this.deps.logger.info({ entryId: entry.id, stream, eventId: event.id, retry }, 'event sent back to its stream');
    return { kind: 'event', stream, eventId: event.id, streamId: published.streamId };
  }

  private queue(name: string): Queue {
    let queue = this.queues.get(name);
    if (queue === undefined) {
      queue = new Queue(name, { connection: this.deps.queueRedis, prefix: bullPrefix(name, this.deps.queueRedis.isCluster) });
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
