import type { Redis } from 'ioredis';
import { toError, type Logger } from '@event-infra/shared';
import type { BatchProcessor, Settlement } from './batch-processor';
import { ensureGroup, isNoGroupError, parseReadReply } from './stream-replies';

export interface ConsumerLoopOptions {
  stream: string;
  group: string;
  /** This loop's consumer name in the group (unique per loop, process and replica). */
  consumer: string;
  batchSize: number;
  /** XREADGROUP BLOCK, ms. */
  blockMs: number;
}

export interface ConsumerLoopDeps {
  /** A `consumer`-profile client on the streams Redis used only by this loop (it blocks). */
  redis: Redis;
  /** A non-blocking client on the streams Redis, used to interrupt a blocked read on stop. */
  control: Redis;
  processor: BatchProcessor;
  logger: Logger;
}

/** Pause after an unexpected read error before the next attempt, ms. */
const ERROR_PAUSE_MS = 500;

/**
 * One consumer: blocking XREADGROUP on its own connection, process, acknowledge. The
 * acknowledgement (and duplicate markers) of a batch travel in the same pipeline as the next
 * XREADGROUP, so a busy loop costs two round trips per batch (read+ack, duplicate look-up).
 */
export class ConsumerLoop {
  private running = false;
  private loop: Promise<void> | undefined;
  private clientId: number | undefined;
  private clientIdStale = true;
  private stopping: Promise<void> | undefined;
  private readonly logger: Logger;

  constructor(
    readonly options: ConsumerLoopOptions,
    private readonly deps: ConsumerLoopDeps,
  ) {
    this.logger = deps.logger.child({ component: 'consumer', consumer: options.consumer });
    // A reconnect gives the connection a new id (used by stop to interrupt a blocked read).
    deps.redis.on('ready', () => {
      this.clientIdStale = true;
    });
  }

  get name(): string {
    return this.options.consumer;
  }

  async start(): Promise<void> {
    await ensureGroup(this.deps.redis, this.options.stream, this.options.group);
    this.running = true;
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    const { stream, group, consumer, batchSize, blockMs } = this.options;
    let settlement: Settlement | undefined;
    while (this.running) {
      try {
        if (this.clientIdStale) {
          this.clientId = Number(await this.deps.redis.client('ID'));
          this.clientIdStale = false;
        }
        const pipeline = this.deps.redis.pipeline();
        if (settlement) this.deps.processor.commit(pipeline, settlement);
        pipeline.xreadgroup('GROUP', group, consumer, 'COUNT', batchSize, 'BLOCK', blockMs, 'STREAMS', stream, '>');
        const results = (await pipeline.exec()) ?? [];
        this.reportCommitErrors(results.slice(0, -1));
        settlement = undefined;
        const [readError, reply] = results.at(-1) ?? [new Error('pipeline returned nothing'), null];
        if (readError) throw readError;
        const entries = parseReadReply(reply);
        if (entries.length > 0) settlement = await this.deps.processor.process(this.deps.redis, consumer, entries);
      } catch (caught) {
        settlement = undefined;
        await this.recover(caught);
      }
    }
    if (settlement) {
      // The batch in hand when stop was asked: acknowledge it before leaving.
      const pipeline = this.deps.redis.pipeline();
      this.deps.processor.commit(pipeline, settlement);
      this.reportCommitErrors((await pipeline.exec().catch((caught: unknown) => [[toError(caught), null]] as [Error, null][])) ?? []);
    }
  }

  private reportCommitErrors(results: [Error | null, unknown][]): void {
    const failed = results.find(([err]) => err !== null);
    // Unacknowledged entries stay pending and are reclaimed: at-least-once, nothing lost.
    if (failed) this.logger.error({ err: failed[0] }, 'acknowledgement failed; entries stay pending');
  }

  private async recover(caught: unknown): Promise<void> {
    if (!this.running) return;
    if (isNoGroupError(caught)) {
      // The stream or the group was deleted under us: create it again and go on.
      this.logger.warn('group or stream missing; creating it again');
      await ensureGroup(this.deps.redis, this.options.stream, this.options.group).catch((err: unknown) =>
        this.logger.error({ err: toError(err) }, 'group re-creation failed'),
      );
      return;
    }
    this.logger.error({ err: toError(caught) }, 'read failed');
    await new Promise((resolve) => setTimeout(resolve, ERROR_PAUSE_MS));
  }

  /**
   * Stops reading: a blocked read is interrupted (CLIENT UNBLOCK), the batch in hand
   * finishes and is acknowledged. Does not close the connection. Idempotent.
   */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.running = false;
      const loop = this.loop ?? Promise.resolve();
      let finished = false;
      void loop.finally(() => {
        finished = true;
      });
      // Repeat the unblock: the loop may be between its check and its next blocking read.
      while (!finished) {
        if (this.clientId !== undefined && this.deps.control.status === 'ready') {
          // A failed unblock only means the loop leaves after its block timeout instead.
          await this.deps.control.client('UNBLOCK', this.clientId).catch(() => undefined);
        }
        await Promise.race([loop, new Promise((resolve) => setTimeout(resolve, 50))]);
      }
    })();
    return this.stopping;
  }
}
