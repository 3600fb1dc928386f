import type { Redis } from 'ioredis';
import { toError, type Logger } from '@event-infra/shared';
import type { BatchProcessor, PreparedBatch, Settlement } from './batch-processor';
import { ensureGroup, isNoGroupError, parseReadReply, type RawEntry } from './stream-replies';

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
 * One consumer: XREADGROUP on its own connection, process, acknowledge. The acknowledgement
 * (and duplicate markers) of a batch travel in the same pipeline as a later XREADGROUP, and the
 * next batch is read while the current one is handled (see `run`).
 */
export class ConsumerLoop {
  private running = false;
  private loop: Promise<void> | undefined;
  private clientId: number | undefined;
  private clientIdStale = true;
  private stopping: Promise<void> | undefined;
  /** Ids read by this loop and not acknowledged yet (kept by the heartbeat). */
  private held: readonly string[] = [];
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

  /**
   * One pipeline per batch: [acknowledgement of batch N-1, duplicate look-up of batch N, read
   * of batch N+1]. Then batch N is handled, batch N+1 decoded, and the next pipeline goes out.
   * A busy loop thus costs one round trip per batch. It blocks (`blockMs`) only when it has
   * nothing in hand. On stop no new read is sent; what was read is handled and acknowledged.
   */
  private async run(): Promise<void> {
    let beating: Promise<void> = Promise.resolve();
    const beat = setInterval(() => {
      beating = this.deps.processor.heartbeat(this.deps.control, this.options.consumer, this.held);
    }, this.deps.processor.heartbeatMs);
    let carry: Settlement | undefined;
    let batch: PreparedBatch | undefined;
    try {
      for (;;) {
        const read = !this.running ? 'none' : batch ? 'poll' : 'block';
        if (read === 'none' && !batch && !carry) break;
        let result: { entries: RawEntry[]; seen: Set<string> };
        try {
          result = await this.exchange(carry, batch, read);
        } catch (caught) {
          // Unacknowledged entries stay pending and are reclaimed: at-least-once, nothing lost.
          carry = undefined;
          batch = undefined;
          this.held = [];
          await this.recover(caught);
          continue;
        }
        carry = undefined;
        const current = batch;
        batch = undefined;
        this.held = [...(current?.entryIds ?? []), ...result.entries.map((entry) => entry.id)];
        try {
          if (current) carry = await this.deps.processor.handle(current, result.seen);
          if (result.entries.length > 0) {
            const next = await this.deps.processor.prepare(result.entries);
            batch = next;
            this.held = next.entryIds;
          } else {
            this.held = [];
          }
        } catch (caught) {
          // Handlers' failures are settled inside; this is a bug or a DLQ outage. The loop goes
          // on; what it held stays pending and is reclaimed.
          this.logger.error({ err: toError(caught) }, 'batch failed unexpectedly; entries stay pending');
          carry = undefined;
          batch = undefined;
          this.held = [];
        }
      }
    } finally {
      clearInterval(beat);
      // A late XCLAIM would re-create the consumer after it left the group: let it land first.
      await beating;
    }
  }

  /** Sends one pipeline: commit of `settlement`, look-up for `batch`, and a read. */
  private async exchange(
    settlement: Settlement | undefined,
    batch: PreparedBatch | undefined,
    read: 'block' | 'poll' | 'none',
  ): Promise<{ entries: RawEntry[]; seen: Set<string> }> {
    const { stream, group, consumer, batchSize, blockMs } = this.options;
    if (this.clientIdStale && read === 'block') {
      this.clientId = Number(await this.deps.redis.client('ID'));
      this.clientIdStale = false;
    }
    const pipeline = this.deps.redis.pipeline();
    if (settlement) this.deps.processor.commit(pipeline, settlement);
    const commitLength = pipeline.length;
    const lookup = batch ? this.deps.processor.queueLookup(pipeline, batch) : undefined;
    // BLOCK only with nothing in hand: a BLOCK read costs several ms more even when entries
    // wait (measured on Redis 7.0 with ioredis 6), so a busy loop polls.
    if (read === 'block') pipeline.xreadgroup('GROUP', group, consumer, 'COUNT', batchSize, 'BLOCK', blockMs, 'STREAMS', stream, '>');
    if (read === 'poll') pipeline.xreadgroup('GROUP', group, consumer, 'COUNT', batchSize, 'STREAMS', stream, '>');
    const results = pipeline.length > 0 ? ((await pipeline.exec()) ?? []) : [];
    this.reportCommitErrors(results.slice(0, commitLength));
    const seen = lookup ? lookup.read(results.slice(commitLength, commitLength + lookup.length)) : new Set<string>();
    if (read === 'none') return { entries: [], seen };
    const [readError, reply] = results.at(-1) ?? [new Error('pipeline returned nothing'), null];
    if (readError) throw readError;
    return { entries: parseReadReply(reply), seen };
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
