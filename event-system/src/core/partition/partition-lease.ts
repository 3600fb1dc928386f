import type { RedisClient } from '@event-infra/shared';
import { partitionKeys } from '@event-infra/shared';
import { LuaScript } from '@event-infra/shared';

const ACQUIRE = new LuaScript(new URL('../lua/lease-acquire-2.lua', import.meta.url));
const RENEW = new LuaScript(new URL('../lua/lease-renew-1.lua', import.meta.url));
const FENCED_ACK = new LuaScript(new URL('../lua/fenced-ack-2.lua', import.meta.url));

/** The worker must stop: its lease expired (a stale owner's write is refused), or an entry has to stay pending. */
export class LeaseLostError extends Error {
  constructor(stream: string, token: number, why = 'is lost') {
    super(`lease of ${stream} with token ${token} ${why}`);
    this.name = 'LeaseLostError';
  }
}

/**
 * The lease of one partition for one owner, an entity with three transitions, each one atomic
 * script: acquire (free or expired → held, with the next fencing token), renew (held by this
 * token → held, TTL reset), release (held by this token → free). The token increases with every
 * new holder; the acknowledgement checks it, so a stale holder cannot acknowledge anything.
 *
 * Locally, `isValid()` is true only until `leaseMs − marginMs` after the last renewal was sent:
 * an owner whose renewals stopped arriving stops handling before the lease can expire in Redis
 * and another consumer take over.
 */
export class PartitionLease {
  private readonly key: string;
  private readonly tokenKey: string;
  token = 0;
  private validUntil = 0;

  constructor(
    private readonly redis: RedisClient,
    private readonly options: { stream: string; group: string; owner: string; leaseMs: number; marginMs: number },
  ) {
    this.key = partitionKeys.lease(options.stream, options.group);
    this.tokenKey = partitionKeys.token(options.stream, options.group);
  }

  /** Takes the lease when free; true with `token` set. */
  async acquire(): Promise<boolean> {
    const sentAt = Date.now();
    const token = (await ACQUIRE.run(this.redis, [this.key, this.tokenKey], [this.options.owner, this.options.leaseMs])) as number | null;
    if (token === null) return false;
    this.token = Number(token);
    this.validUntil = sentAt + this.options.leaseMs - this.options.marginMs;
    return true;
  }

  /** Extends the lease; false (and invalid from now) when it was lost. */
  async renew(): Promise<boolean> {
    const sentAt = Date.now();
    const renewed = Number(await RENEW.run(this.redis, [this.key], [this.token, this.options.owner, this.options.leaseMs])) === 1;
    this.validUntil = renewed ? sentAt + this.options.leaseMs - this.options.marginMs : 0;
    return renewed;
  }

  async release(): Promise<void> {
    this.validUntil = 0;
    await RENEW.run(this.redis, [this.key], [this.token, this.options.owner, 0]);
  }

  isValid(now = Date.now()): boolean {
    return now < this.validUntil;
  }

  /** The fenced XACK; rejects with `LeaseLostError` for a stale token. */
  async ack(ids: readonly string[]): Promise<number> {
    try {
      return Number(await FENCED_ACK.run(this.redis, [this.key, this.options.stream], [this.token, this.options.owner, this.options.group, ...ids]));
    } catch (caught) {
      if (caught instanceof Error && caught.message.startsWith('FENCED')) throw new LeaseLostError(this.options.stream, this.token);
      throw caught;
    }
  }
}
