import type { RedisClient } from '../redis/create-redis';
import { createLazyQueue } from '../redis/lazy-queue';
import { deadLetterEntrySchema, deadLetterJobId, type DeadLetterEntry } from './dead-letter-entry';

/** The DLQ schema refused an entry: that will not change on a retry (`permanent`). */
export class DeadLetterRefusedError extends Error {
  readonly permanent = true as const;
  readonly code = 'dlq_record_refused';

  constructor(message: string) {
    super(message);
    this.name = 'DeadLetterRefusedError';
  }
}

export interface DeadLetterSink {
  /** Adds the entry to the DLQ queue; resolves with its DLQ job id once Redis has it. */
  add(entry: DeadLetterEntry): Promise<string>;
  close(): Promise<void>;
}

export interface DeadLetterSinkOptions {
  /** `DLQ_QUEUE_NAME`. */
  queueName: string;
  /** A client on the queue Redis; the sink does not close it. */
  connection: RedisClient;
}

/**
 * Writes DLQ entries into the BullMQ dead-letter queue on the queue Redis. The queue (and
 * bullmq) is created on the first entry (`createLazyQueue`): most processes never send one.
 */
export function createDeadLetterSink(options: DeadLetterSinkOptions): DeadLetterSink {
  const queue = createLazyQueue(options.queueName, options.connection);
  return {
    async add(entry) {
      const result = deadLetterEntrySchema.safeParse(entry);
      if (!result.success) {
        const issue = result.error.issues[0];
        throw new DeadLetterRefusedError(`DLQ entry refused: ${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}`);
      }
      const parsed = result.data;
      const jobId = deadLetterJobId(parsed);
      // Entries are kept until the DLQ processor has handled them; it parks them on the master.
      const job = await queue.add(parsed.kind, parsed, { jobId, removeOnComplete: 1000, removeOnFail: 5000 });
      return job.id ?? jobId;
    },
    close: () => queue.close(),
  };
}
