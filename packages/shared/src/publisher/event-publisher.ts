import { createBatch } from '../redis/batch';
import type { RedisClient } from '../redis/create-redis';
import { toError } from '../errors';
import { createEvent, encodeEvent, encodeNewEvent, InvalidEventError, isValidEventTime, type EncodedEvent, type EventEnvelope, type EventInput } from '../events';
import type { Logger } from '../logger';
import { partitionStreams } from '../names';
import { partitionKeyOf, partitionOf } from '../partition';
import { queueFlatCommand, sendFlatCommand } from '../redis/flat-command';

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
  /**
   * `STREAM_PARTITIONS`: with more than 1, each event goes to `partitionStreams(stream, n)[i]`,
   * i = `partitionOf(partitionkey ?? subject ?? id, n)`. Default 1: the stream itself.
   */
  partitions?: number;
}

export interface EventPublisherDeps {
  /** A `producer`-profile client on the streams Redis (fails fast when Redis is down). */
  redis: RedisClient;
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
  const partitions = Math.max(1, options.partitions ?? 1);
  const targets = partitionStreams(options.stream, partitions).map((name) => [name]);
  /** `[stream]` of an encoded event: the only one with one partition, else by its key. */
  const streamOf = (input: { id?: string | undefined; subject?: string | undefined; partitionkey?: string | undefined }, id: string): string[] =>
    partitions === 1 ? targets[0]! : targets[partitionOf(partitionKeyOf({ ...input, id }), partitions)]!;
  const logger = deps.logger.child({ component: 'publisher', stream: options.stream });

  const prepare = (input: EventInput, index?: number, now?: string): EventEnvelope => {
    try {
      return createEvent(input, options.source, now);
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

  /**
   * Validates and encodes a new event: the fast encoder when it is sure, else `createEvent`
   * (which gives the verdict and the error) and `encodeEvent`. Same fields either way.
   */
  const encode = (input: EventInput, index: number | undefined, now: string | undefined): EncodedEvent => {
    const fast = encodeNewEvent(input, options.source, now);
    if (fast !== undefined) return fast;
    const event = prepare(input, index, now);
    return { id: event.id, type: event.type, fields: encodeEvent(event) };
  };

  /** The current time when the envelope schema accepts it (always, short of a broken clock). */
  const currentTime = (): string | undefined => {
    const now = new Date().toISOString();
    return isValidEventTime(now) ? now : undefined;
  };

  const send = async (event: EventEnvelope): Promise<PublishedEvent> => {
    const streamId = await deps.redis.xadd(streamOf(event, event.id)[0]!, ...head, ...encodeEvent(event));
    if (streamId === null) throw new Error('XADD returned no entry id');
    return { id: event.id, streamId, type: event.type };
  };

  return {
    // async: an invalid event must reject the returned promise, not throw at the call site.
    publish: async (input) => {
      const { id, type, fields } = encode(input, undefined, currentTime());
      const streamId = await sendFlatCommand<string | null>(deps.redis, 'xadd', streamOf(input, id), head, fields);
      if (streamId === null) throw new Error('XADD returned no entry id');
      return { id, streamId, type };
    },
    publishEnvelope: send,
    async publishBatch(inputs) {
      if (inputs.length === 0) return [];
      // One timestamp for the batch: its events are published at the same instant.
      const now = currentTime();
      // A pipeline sends nothing before exec(): an invalid event throws here and the queued
      // commands are dropped unsent. Only ids and types outlive the loop, so the encoded
      // events die young instead of being promoted while the pipeline is in flight.
      const pipeline = createBatch(deps.redis);
      const ids: string[] = new Array<string>(inputs.length);
      const types: string[] = new Array<string>(inputs.length);
      for (let index = 0; index < inputs.length; index += 1) {
        const { id, type, fields } = encode(inputs[index]!, index, now);
        ids[index] = id;
        types[index] = type;
        queueFlatCommand(pipeline, 'xadd', streamOf(inputs[index]!, id), head, fields);
      }
      const results = await pipeline.exec();
      if (results === null) throw new PublishError([], ids.map((id, index) => ({ index, id, error: new Error('pipeline was discarded') })));
      const published: PublishedEvent[] = [];
      const failed: { index: number; id: string; error: Error }[] = [];
      results.forEach(([err, streamId], index) => {
        if (err !== null || typeof streamId !== 'string') {
          failed.push({ index, id: ids[index]!, error: err === null ? new Error('XADD returned no entry id') : toError(err) });
        } else {
          published.push({ id: ids[index]!, streamId, type: types[index]! });
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
