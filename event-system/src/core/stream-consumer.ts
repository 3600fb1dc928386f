import type { Redis } from 'ioredis';
import {
  decodeEvent,
  describeFailure,
  fieldsToRecord,
  InvalidEventError,
  toError,
  type DeadLetterSink,
  type EventEnvelope,
  type Logger,
} from '@event-infra/shared';

export interface StreamConsumerOptions {
  stream: string;
  group: string;
  consumer: string;
  batchSize: number;
  blockMs: number;
}

export interface StreamConsumerDeps {
  /** A `consumer`-profile client on the streams Redis, used only by this loop (it blocks). */
  redis: Redis;
  logger: Logger;
  dlq: DeadLetterSink;
  /** Runs for each valid event; the entry is acknowledged only after it resolves. */
  handle: (event: EventEnvelope, entryId: string) => Promise<void>;
}

export interface ConsumerCounters {
  processed: number;
  failed: number;
  deadLettered: number;
}

type StreamReply = [stream: string, entries: [id: string, fields: string[] | null][]][] | null;

/** Creates the group at `$`-less `0` so a new group sees the whole stream; MKSTREAM if missing. */
export async function ensureGroup(redis: Redis, stream: string, group: string): Promise<void> {
  try {
    await redis.xgroup('CREATE', stream, group, '0', 'MKSTREAM');
  } catch (caught) {
    if (!toError(caught).message.includes('BUSYGROUP')) throw caught;
  }
}

/**
 * One consumer in the group: blocking XREADGROUP, decode, handle, XACK. Invalid entries go
 * to the DLQ with the reason and are acknowledged. A handler failure leaves the entry pending
 * so that it is delivered again.
 */
export class StreamConsumer {
  readonly counters: ConsumerCounters = { processed: 0, failed: 0, deadLettered: 0 };
  private running = false;
  private loop: Promise<void> | undefined;
  private readonly logger: Logger;

  constructor(
    private readonly options: StreamConsumerOptions,
    private readonly deps: StreamConsumerDeps,
  ) {
    this.logger = deps.logger.child({ component: 'consumer', stream: options.stream, consumer: options.consumer });
  }

  async start(): Promise<void> {
    await ensureGroup(this.deps.redis, this.options.stream, this.options.group);
    this.running = true;
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    while (this.running) {
      try {
        const reply = (await this.deps.redis.xreadgroup(
          'GROUP', this.options.group, this.options.consumer,
          'COUNT', this.options.batchSize,
          'BLOCK', this.options.blockMs,
          'STREAMS', this.options.stream, '>',
        )) as StreamReply;
        const entries = reply?.[0]?.[1] ?? [];
        if (entries.length > 0) await this.processBatch(entries);
      } catch (caught) {
        if (!this.running) break;
        const err = toError(caught);
        if (err.message.includes('NOGROUP')) {
          // The stream or group was deleted under us: recreate and go on.
          await ensureGroup(this.deps.redis, this.options.stream, this.options.group).catch(() => undefined);
        } else {
          this.logger.error({ err }, 'read failed');
          await new Promise((resolve) => setTimeout(resolve, 500));
        }
      }
    }
  }

  private async processBatch(entries: [string, string[] | null][]): Promise<void> {
    const acks: string[] = [];
    for (const [entryId, fields] of entries) {
      if (fields === null) {
        // Entry trimmed between delivery and read: nothing left to process.
        acks.push(entryId);
        continue;
      }
      let event: EventEnvelope;
      try {
        event = decodeEvent(fields);
      } catch (caught) {
        const err = toError(caught);
        await this.deadLetter(entryId, fields, err);
        acks.push(entryId);
        continue;
      }
      try {
        await this.deps.handle(event, entryId);
        this.counters.processed += 1;
        acks.push(entryId);
      } catch (caught) {
        this.counters.failed += 1;
        this.logger.warn({ err: toError(caught), eventId: event.id, entryId }, 'handler failed; entry stays pending');
      }
    }
    if (acks.length > 0) await this.deps.redis.xack(this.options.stream, this.options.group, ...acks);
  }

  private async deadLetter(entryId: string, fields: string[], err: Error): Promise<void> {
    const record = fieldsToRecord(fields);
    const now = new Date().toISOString();
    await this.deps.dlq.add({
      kind: 'event',
      origin: { kind: 'event', stream: this.options.stream, group: this.options.group, entryId, fields: record, ...(record.id ? { eventId: record.id } : {}) },
      name: record.type ?? '(invalid)',
      data: record,
      error: { ...describeFailure(err), ...(err instanceof InvalidEventError ? { code: err.reason, permanent: true } : {}) },
      attempts: 1,
      firstFailedAt: now,
      lastFailedAt: now,
      dlqRetries: 0,
    });
    this.counters.deadLettered += 1;
    this.logger.warn({ entryId, reason: err.message }, 'invalid entry sent to the DLQ');
  }

  /** Stops reading; the batch in hand finishes and is acknowledged. Idempotent. */
  async close(): Promise<void> {
    this.running = false;
    // A blocked XREADGROUP returns within blockMs; disconnecting would lose the batch in hand.
    await this.loop;
  }
}
