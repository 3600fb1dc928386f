import type { Redis } from 'ioredis';
import { toError } from '../errors';
import { createEvent, encodeEvent, InvalidEventError, type EventEnvelope, type EventInput } from '../events';
import type { Logger } from '../logger';

export interface EventPublisherOptions {
  /** Stream to `XADD` to (`STREAM_NAME`). */
  stream: string;
  /** `source` of events that do not name one. */
  source: string;
  /**
   * Safety cap: `XADD … MAXLEN ~ <n>`. Only a memory net: retention is the event processor's
   * `XTRIM MINID` below what every group acknowledged. 0 disables the cap. Default 1,000,000.
   */
  maxLenApprox?: number;
}

export interface EventPublisherDeps {
  /** A `producer`-profile client on the streams Redis (fails fast when Redis is down). */
  redis: Redis;
  logger: Logger;
}

export interface PublishedEvent {
  /** The event's id (envelope `id`). */
  id: string;
  /** The stream entry id Redis assigned. */
  streamId: string;
  type: string;
}

/** Some events of a batch were not acknowledged by Redis; `published` lists those that were. */
export class PublishError extends Error {
  readonly published: readonly PublishedEvent[];
  readonly failed: readonly { index: number; id: string; error: Error }[];

  constructor(published: PublishedEvent[], failed: { index: number; id: string; error: Error }[]) {
    super(
      `${failed.length} of ${published.length + failed.length} events were not published: ${failed[0]?.error.message ?? ''}`,
    );
    this.name = 'PublishError';
    this.published = published;
    this.failed = failed;
  }
}

export interface EventPublisher {
  /** Validates, then `XADD`s. Rejects on an invalid event (nothing sent) or when Redis fails. */
  publish(input: EventInput): Promise<PublishedEvent>;
  /**
   * Validates every event first (one invalid event: nothing is sent), then pipelines the
   * `XADD`s. Rejects with `PublishError` when any entry was not acknowledged.
   */
  publishBatch(inputs: readonly EventInput[]): Promise<PublishedEvent[]>;
  /** Sends an already complete, validated envelope (the DLQ re-publishes with the same id). */
  publishEnvelope(event: EventEnvelope): Promise<PublishedEvent>;
}

export function createEventPublisher(options: EventPublisherOptions, deps: EventPublisherDeps): EventPublisher {
  const cap = options.maxLenApprox ?? 1_000_000;
  // MAXLEN ~ lets Redis trim whole macro nodes only: cheap, and never below the cap.
  const head = cap > 0 ? ['MAXLEN', '~', String(cap), '*'] : ['*'];
  const logger = deps.logger.child({ component: 'publisher', stream: options.stream });

  const prepare = (input: EventInput, index?: number): EventEnvelope => {
    try {
      return createEvent(input, options.source);
    } catch (caught) {
      if (caught instanceof InvalidEventError && index !== undefined) {
        throw new InvalidEventError(caught.reason, `event ${index}: ${caught.message}`, {
          index,
          issues: caught.details,
        });
      }
      throw caught;
    }
  };

  const send = async (event: EventEnvelope): Promise<PublishedEvent> => {
    const streamId = await deps.redis.xadd(options.stream, ...head, ...encodeEvent(event));
    if (streamId === null) throw new Error('XADD returned no entry id');
    return { id: event.id, streamId, type: event.type };
  };

  return {
    // async: an invalid event must reject the returned promise, not throw at the call site.
    publish: async (input) => send(prepare(input)),
    publishEnvelope: send,
    async publishBatch(inputs) {
      if (inputs.length === 0) return [];
      const events = inputs.map((input, index) => prepare(input, index));
      const pipeline = deps.redis.pipeline();
      for (const event of events) pipeline.xadd(options.stream, ...head, ...encodeEvent(event));
      const results = await pipeline.exec();
      if (results === null) throw new PublishError([], events.map((e, index) => ({ index, id: e.id, error: new Error('pipeline was discarded') })));
      const published: PublishedEvent[] = [];
      const failed: { index: number; id: string; error: Error }[] = [];
      results.forEach(([err, streamId], index) => {
        const event = events[index]!;
        if (err !== null || typeof streamId !== 'string') {
          failed.push({ index, id: event.id, error: err === null ? new Error('XADD returned no entry id') : toError(err) });
        } else {
          published.push({ id: event.id, streamId, type: event.type });
        }
      });
      if (failed.length > 0) {
        logger.error({ failed: failed.length, published: published.length, err: failed[0]!.error }, 'batch partly unpublished');
        throw new PublishError(published, failed);
      }
      return published;
    },
  };
}
