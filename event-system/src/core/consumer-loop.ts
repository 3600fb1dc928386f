import type { Redis } from 'ioredis';
import { toError, type Logger } from '@event-infra/shared';
import type { BatchProcessor, Settlement } from './batch-processor';
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
   * Read-ahead: while batch N is handled, the read of batch N+1 is already in flight, carrying
   * the acknowledgement of batch N-1 in the same pipeline. Redis round trips thus overlap with
   * handler work. On stop no new read is sent; batches already read are handled and acknowledged.
   */
  private async run(): Promise<void> {
    let inFlight: Promise<RawEntry[]> | undefined = this.exchange(undefined, 'block');
    let carry: Settlement | undefined;
    let held: readonly string[] = [];
    while (inFlight) {
      let entries: RawEntry[];
      try {
        entries = await inFlight;
      } catch (caught) {
        entries = [];
        await this.recover(caught);
      }
      inFlight = undefined;
      if (entries.length === 0) {
        // Idle (or an error): block for the next entries, unless stopping.
        if (this.running) {
          inFlight = this.exchange(carry, 'block');
          carry = undefined;
        }
        continue;
      }
      if (this.running) {
        inFlight = this.exchange(carry, 'poll');
        carry = undefined;
        // Entries of the read-ahead are held (heartbeat) too once they arrive.
        held = [];
        void inFlight.then(
          (next) => {
            held = next.map((entry) => entry.id);
          },
          () => undefined,
        );
      }
      const settlement = await this.deps.processor.process(this.deps.redis, this.options.consumer, entries, undefined, () => held);
      carry = carry ? { ackIds: [...carry.ackIds, ...settlement.ackIds], processedEventIds: [...carry.processedEventIds, ...settlement.processedEventIds] } : settlement;
    }
    if (carry) {
      // What was handled before the stop: acknowledge it before leaving.
      await this.exchange(carry, 'none').catch((caught: unknown) => this.logger.error({ err: toError(caught) }, 'final acknowledgement failed; entries stay pending'));
    }
  }

  /**
   * One pipeline: the acknowledgement of `settlement` (if any) and a read. `block` blocks for
   * `blockMs`; `poll` does not (a BLOCK read costs several ms more even when entries wait,
   * measured on Redis 7.0 with ioredis 6, so a busy loop polls and blocks only once idle).
   */
  private async exchange(settlement: Settlement | undefined, read: 'block' | 'poll' | 'none'): Promise<RawEntry[]> {
    const { stream, group, consumer, batchSize, blockMs } = this.options;
    if (this.clientIdStale && read === 'block') {
      this.clientId = Number(await this.deps.redis.client('ID'));
      this.clientIdStale = false;
    }
    const pipeline = this.deps.redis.pipeline();
    if (settlement) this.deps.processor.commit(pipeline, settlement);
    if (read === 'block') pipeline.xreadgroup('GROUP', group, consumer, 'COUNT', batchSize, 'BLOCK', blockMs, 'STREAMS', stream, '>');
    if (read === 'poll') pipeline.xreadgroup('GROUP', group, consumer, 'COUNT', batchSize, 'STREAMS', stream, '>');
    if (pipeline.length === 0) return [];
    const results = (await pipeline.exec()) ?? [];
    if (read === 'none') {
      this.reportCommitErrors(results);
      return [];
    }
    this.reportCommitErrors(results.slice(0, -1));
    const [readError, reply] = results.at(-1) ?? [new Error('pipeline returned nothing'), null];
    if (readError) throw readError;
    return parseReadReply(reply);
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
