import type { RedisClient } from '@event-infra/shared';
import { toError, type Logger } from '@event-infra/shared';
import type { BatchProcessor } from './batch-processor';
import { ConsumerLoop } from './consumer-loop';

export interface ConsumerPoolOptions {
  stream: string;
  group: string;
  /** Prefix of the loops' consumer names: `<base>-<n>`. */
  baseName: string;
  batchSize: number;
  blockMs: number;
  /** Loops at start (clamped to min..max). */
  initial: number;
  min: number;
  max: number;
}

export interface ConsumerPoolDeps {
  /** Opens a dedicated blocking connection for one loop; the pool closes it. */
  openConnection: (consumer: string) => RedisClient;
  closeConnection: (redis: RedisClient) => Promise<void>;
  /** Non-blocking client on the streams Redis. */
  control: RedisClient;
  processor: BatchProcessor;
  logger: Logger;
}

interface Member {
  loop: ConsumerLoop;
  redis: RedisClient;
}

/**
 * The consumer loops of this process, each with its own connection and consumer name. Grows
 * and shrinks one loop at a time within [min, max]; a removed loop finishes its batch,
 * acknowledges, and leaves the group when it owns no pending entry.
 */
export class ConsumerPool {
  private readonly members: Member[] = [];
  private sequence = 0;
  private closed = false;
  private changing: Promise<unknown> = Promise.resolve();
  private readonly logger: Logger;

  constructor(
    private readonly options: ConsumerPoolOptions,
    private readonly deps: ConsumerPoolDeps,
  ) {
    this.logger = deps.logger.child({ component: 'consumer-pool' });
  }

  get size(): number {
    return this.members.length;
  }

  get bounds(): { min: number; max: number } {
    return { min: this.options.min, max: this.options.max };
  }

  /** Consumer names of the live loops. */
  names(): string[] {
    return this.members.map((member) => member.loop.name);
  }

  async start(): Promise<void> {
    const target = Math.min(Math.max(this.options.initial, this.options.min), this.options.max);
    for (let index = 0; index < target; index += 1) await this.grow();
  }

  /** Adds a loop unless at max. Resolves true when one was added. */
  grow(): Promise<boolean> {
    return this.serial(async () => {
      if (this.closed || this.members.length >= this.options.max) return false;
      this.sequence += 1;
      const consumer = `${this.options.baseName}-${this.sequence}`;
      const redis = this.deps.openConnection(consumer);
      const loop = new ConsumerLoop(
        { stream: this.options.stream, group: this.options.group, consumer, batchSize: this.options.batchSize, blockMs: this.options.blockMs },
        { redis, control: this.deps.control, processor: this.deps.processor, logger: this.deps.logger },
      );
      try {
        await loop.start();
      } catch (caught) {
        await this.deps.closeConnection(redis);
        throw caught;
      }
      this.members.push({ loop, redis });
      this.logger.info({ consumer, loops: this.members.length }, 'consumer loop started');
      return true;
    });
  }

  /** Removes the newest loop unless at min. Resolves true when one was removed. */
  shrink(): Promise<boolean> {
    return this.serial(async () => {
      if (this.members.length <= this.options.min) return false;
      const member = this.members.pop()!;
      await this.retire(member);
      this.logger.info({ consumer: member.loop.name, loops: this.members.length }, 'consumer loop stopped');
      return true;
    });
  }

  /** Stops every loop (each finishes and acknowledges its batch). Idempotent. */
  close(): Promise<void> {
    this.closed = true;
    return this.serial(async () => {
      const members = this.members.splice(0);
      await Promise.all(members.map((member) => this.retire(member)));
    }) as Promise<void>;
  }

  private async retire(member: Member): Promise<void> {
    await member.loop.stop();
    await this.deps.closeConnection(member.redis);
    try {
      // Leave the group only when nothing is pending on this name (DELCONSUMER drops pending).
      const pending = (await this.deps.control.xpending(this.options.stream, this.options.group, '-', '+', 1, member.loop.name)) as unknown[];
      if (pending.length === 0) await this.deps.control.xgroup('DELCONSUMER', this.options.stream, this.options.group, member.loop.name);
    } catch (caught) {
      // Not fatal: the cleanup in the reclaimer removes idle empty consumers later.
      this.logger.warn({ err: toError(caught), consumer: member.loop.name }, 'could not remove consumer from the group');
    }
  }

  private serial<T>(step: () => Promise<T>): Promise<T> {
    const next = this.changing.then(step);
    this.changing = next.catch(() => undefined);
    return next;
  }
}
