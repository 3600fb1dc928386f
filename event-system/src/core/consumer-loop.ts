import { createBatch } from '@event-infra/shared';
import type { RedisClient } from '@event-infra/shared';
import { toError, type Logger } from '@event-infra/shared';
import type { BatchProcessor, PreparedBatch, Settlement } from './batch-processor';
import { ensureGroup, eventIdsOf, isNoGroupError, parseReadBufferReply, type RawEntry } from './stream-replies';

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
  redis: RedisClient;
  /** A non-blocking client on the streams Redis, used to interrupt a blocked read on stop. */
  control: RedisClient;
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
   * One pipeline per batch: [acknowledgement of batch N-1, duplicate look-up of batch N+1, read
   * of batch N+2]. While it travels, batch N (looked up in the previous pipeline) is handled and
   * batch N+1 decoded, so Redis and this process work at the same time: a busy loop costs
   * max(Redis, Node) per batch, not their sum. The look-up of N+1 cannot see the markers of N
   * (not written yet), so N's processed ids count as seen for N+1. It blocks (`blockMs`) only
   * when it has nothing in hand. On stop no new read is sent; what was read is handled and
   * acknowledged.
   */
  private async run(): Promise<void> {
    /** Read, not decoded yet: its look-up goes in the next pipeline. */
    let raw: RawEntry[] | undefined;
    /** Decoded while its look-up travels. */
    let prepared: PreparedBatch | undefined;
    /** Decoded and looked up: handled during the next pipeline. */
    let ready: { batch: PreparedBatch; seen: Set<string> } | undefined;
    /** Handled: acknowledged (and marked) by the next pipeline. */
    let carry: Settlement | undefined;
    let beating: Promise<void> = Promise.resolve();
    const held = (): string[] => [...(ready?.batch.entryIds ?? []), ...(prepared?.entryIds ?? []), ...(raw ?? []).map((entry) => entry.id)];
    const beat = setInterval(() => {
      beating = this.deps.processor.heartbeat(this.deps.control, this.options.consumer, held());
    }, this.deps.processor.heartbeatMs);
    try {
      for (;;) {
        const inHand = raw !== undefined || ready !== undefined;
        const read = !this.running ? 'none' : inHand ? 'poll' : 'block';
        if (read === 'none' && !inHand && !carry) break;
        const sent = this.exchange(carry, raw ? eventIdsOf(raw) : [], read);
        // Awaited below; until then a failure must not count as unhandled.
        sent.catch(() => undefined);
        carry = undefined;
        let handled: Settlement | undefined;
        try {
          if (ready) handled = await this.deps.processor.handle(ready.batch, ready.seen);
          ready = undefined;
          if (raw) prepared = await this.deps.processor.prepare(raw, undefined, this.options.consumer);
          raw = undefined;
        } catch (caught) {
          // Handlers' failures are settled inside; this is a bug or a DLQ outage. The loop goes
          // on; what it held stays pending and is reclaimed.
          this.logger.error({ err: toError(caught) }, 'batch failed unexpectedly; entries stay pending');
          handled = undefined;
          ready = undefined;
          prepared = undefined;
          raw = undefined;
        }
        let result: { entries: RawEntry[]; seen: Set<string> };
        try {
          result = await sent;
        } catch (caught) {
          // Unacknowledged entries stay pending and are reclaimed: at-least-once, nothing lost.
          prepared = undefined;
          await this.recover(caught);
          continue;
        }
        carry = handled;
        if (prepared) {
          const seen = result.seen;
          if (handled && this.deps.processor.dedupeEnabled) for (const id of handled.processedEventIds) seen.add(id);
          ready = { batch: prepared, seen };
          prepared = undefined;
        }
        if (result.entries.length > 0) raw = result.entries;
      }
    } finally {
      clearInterval(beat);
      // A late XCLAIM would re-create the consumer after it left the group: let it land first.
      await beating;
    }
  }

  /** Sends one pipeline: commit of `settlement`, look-up of `eventIds`, and a read. */
  private async exchange(
    settlement: Settlement | undefined,
    eventIds: readonly string[],
    read: 'block' | 'poll' | 'none',
  ): Promise<{ entries: RawEntry[]; seen: Set<string> }> {
    const { stream, group, consumer, batchSize, blockMs } = this.options;
    if (this.clientIdStale && read === 'block') {
      this.clientId = Number(await this.deps.redis.client('ID'));
      this.clientIdStale = false;
    }
    const pipeline = createBatch(this.deps.redis);
    if (settlement) this.deps.processor.commit(pipeline, settlement);
    const commitLength = pipeline.length;
    const lookup = this.deps.processor.queueLookupIds(pipeline, eventIds);
    // BLOCK only with nothing in hand: a BLOCK read costs several ms more even when entries
    // wait (measured on Redis 7.0 with ioredis 6), so a busy loop polls.
    // Fields stay Buffers: the decoder makes strings of the values only (see `WireFields`).
    if (read === 'block') pipeline.xreadgroupBuffer('GROUP', group, consumer, 'COUNT', batchSize, 'BLOCK', blockMs, 'STREAMS', stream, '>');
    if (read === 'poll') pipeline.xreadgroupBuffer('GROUP', group, consumer, 'COUNT', batchSize, 'STREAMS', stream, '>');
    const results = pipeline.length > 0 ? ((await pipeline.exec()) ?? []) : [];
    this.reportCommitErrors(results, commitLength);
    const seen = lookup.read(results.slice(commitLength, commitLength + lookup.length));
    if (read === 'none') return { entries: [], seen };
    const [readError, reply] = results.at(-1) ?? [new Error('pipeline returned nothing'), null];
    if (readError) throw readError;
    return { entries: parseReadBufferReply(reply), seen };
  }

  private reportCommitErrors(results: [Error | null, unknown][], length: number): void {
    for (let index = 0; index < length; index += 1) {
      const err = results[index]![0];
      if (err === null) continue;
      // Unacknowledged entries stay pending and are reclaimed: at-least-once, nothing lost.
      this.logger.error({ err }, 'acknowledgement failed; entries stay pending');
      return;
    }
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
