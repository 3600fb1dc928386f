import type { ConnectionOptions } from 'bullmq';
import { DelayedError, UnrecoverableError, Worker } from '@event-infra/shared/bullmq';
import { bullPrefix, isClusterConnection, toError, traceContextOf, type Logger, type Tracing } from '@event-infra/shared';
import { MalformedEntryError, type DlqHandler } from './dlq-handler';

export interface DlqConsumerOptions {
  /** `DLQ_QUEUE_NAME`. */
  queueName: string;
  connection: ConnectionOptions;
  /** Entries handled at once (`DLQ_CONCURRENCY`). */
  concurrency: number;
  /** When handling fails (a Redis is down), the entry is tried again after this long, ms. */
  handleRetryDelayMs: number;
}

/**
 * BullMQ worker on the dead-letter queue: each job is one failure (`deadLetterEntrySchema`).
 * A handling error never drops the entry: it goes back to delayed and is handled again
 * later. Only a job whose data is not an entry fails for good (kept in the failed set).
 */
export class DlqConsumer {
  private worker: Worker | undefined;
  private readonly logger: Logger;

  constructor(
    private readonly options: DlqConsumerOptions,
    /** `tracing`: a `dlq receive` span per entry, child of the failure's trace (absent: OTEL_EXPORTER_OTLP_ENDPOINT unset). */
    private readonly deps: { handler: DlqHandler; logger: Logger; tracing?: Tracing | undefined },
  ) {
    this.logger = deps.logger.child({ component: 'dlq-consumer', queue: options.queueName });
  }

  start(): void {
    this.worker = new Worker(
      this.options.queueName,
      async (job, token) => {
        try {
          const source = job.id ?? '';
          const { tracing } = this.deps;
          if (tracing === undefined) await this.deps.handler.handle(job.data, source);
          else {
            await tracing.inSpan('dlq receive', { kind: 'consumer', parent: traceContextOf(job.data), attributes: { 'dlq.source': source } }, async (span) => {
              const entry = await this.deps.handler.handle(job.data, source);
              span.setAttributes({ 'dlq.entry_id': entry.id, 'dlq.status': entry.status, 'dlq.classification': entry.classification });
            });
          }
        } catch (caught) {
          const err = toError(caught);
          if (err instanceof MalformedEntryError) {
            this.logger.error({ err, dlqJobId: job.id }, 'malformed DLQ job kept in the failed set');
            throw new UnrecoverableError(err.message);
          }
          this.logger.error({ err, dlqJobId: job.id, retryInMs: this.options.handleRetryDelayMs }, 'handling a DLQ entry failed; will try again');
          await job.moveToDelayed(Date.now() + this.options.handleRetryDelayMs, token);
          throw new DelayedError();
        }
      },
      { connection: this.options.connection, prefix: bullPrefix(this.options.queueName, isClusterConnection(this.options.connection)), concurrency: this.options.concurrency },
    );
    this.worker.on('error', (err) => this.logger.error({ err }, 'dlq worker error'));
  }

  /** Lets entries in hand finish, then stops. */
  async close(): Promise<void> {
    await this.worker?.close();
  }
}
