import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { ENTRY_STATUSES, FAILURE_CLASSES, dlqKeys, type EntryKind, type EntryStatus, type StoredEntry } from './stored-entry';
import type { FailureClass } from './dlq-classifier';

export interface EntryFilter {
  origin?: string;
  kind?: EntryKind;
  classification?: FailureClass;
  status?: EntryStatus;
  /** Entries created at or after this time, ms since epoch. */
  fromMs?: number;
  /** Entries created at or before this time, ms since epoch. */
  toMs?: number;
}

export interface EntryPage {
  items: StoredEntry[];
  total: number;
}

/** Counters kept on the master so `/stats` survives restarts. */
export const COUNTER_NAMES = ['received', 'scheduled', 'retried', 'recovered', 'parked', 'deleted', 'alerts', 'webhookDelivered', 'webhookFailed'] as const;
export type CounterName = (typeof COUNTER_NAMES)[number];

const createdMs = (entry: StoredEntry): number => Date.parse(entry.createdAt);

/**
 * DLQ storage on the master Redis (AOF there makes it durable): one JSON value per entry
 * and sorted-set indexes scored by creation time, per kind, origin, classification and
 * status, so listings never scan. Writes of an entry and its indexes go in one MULTI.
 */
export class DlqStore {
  constructor(private readonly redis: Redis) {}

  async get(id: string): Promise<StoredEntry | undefined> {
    const json = await this.redis.get(dlqKeys.entry(id));
    return json === null ? undefined : (JSON.parse(json) as StoredEntry);
  }

  /**
   * Writes the entry and moves it to its current classification and status indexes, in one
   * MULTI with the given counter increments.
   */
  async save(entry: StoredEntry, increments: readonly CounterName[] = []): Promise<void> {
    const score = createdMs(entry);
    const multi = this.redis.multi();
    multi.set(dlqKeys.entry(entry.id), JSON.stringify(entry));
    multi.zadd(dlqKeys.indexAll(), score, entry.id);
    multi.zadd(dlqKeys.indexKind(entry.kind), score, entry.id);
    multi.zadd(dlqKeys.indexOrigin(entry.originName), score, entry.id);
    multi.sadd(dlqKeys.origins(), entry.originName);
    for (const classification of FAILURE_CLASSES) {
      if (classification === entry.classification) multi.zadd(dlqKeys.indexClass(classification), score, entry.id);
      else multi.zrem(dlqKeys.indexClass(classification), entry.id);
    }
    for (const status of ENTRY_STATUSES) {
      if (status === entry.status) multi.zadd(dlqKeys.indexStatus(status), score, entry.id);
      else multi.zrem(dlqKeys.indexStatus(status), entry.id);
    }
    for (const counter of increments) multi.hincrby(dlqKeys.counters(), counter, 1);
    await execOrThrow(multi);
  }

  /** Removes the entry and its index memberships; false when it did not exist. */
  async delete(id: string): Promise<boolean> {
    const entry = await this.get(id);
    if (entry === undefined) return false;
    const multi = this.redis.multi();
    multi.del(dlqKeys.entry(id));
    multi.zrem(dlqKeys.indexAll(), id);
    multi.zrem(dlqKeys.indexKind(entry.kind), id);
    multi.zrem(dlqKeys.indexOrigin(entry.originName), id);
    for (const classification of FAILURE_CLASSES) multi.zrem(dlqKeys.indexClass(classification), id);
    for (const status of ENTRY_STATUSES) multi.zrem(dlqKeys.indexStatus(status), id);
    if (entry.retriedTo?.kind === 'job') multi.hdel(dlqKeys.tracking(), trackingField(entry.retriedTo.queue, entry.retriedTo.jobId));
    await execOrThrow(multi);
    return true;
  }

  /** Newest first. `offset`/`limit` page through the filtered set. */
  async list(filter: EntryFilter, offset: number, limit: number): Promise<EntryPage> {
    return this.withIndex(filter, async (key) => {
      const min = filter.fromMs ?? '-inf';
      const max = filter.toMs ?? '+inf';
      const [ids, total] = await Promise.all([
        this.redis.zrevrangebyscore(key, max, min, 'LIMIT', offset, limit),
        this.redis.zcount(key, min, max),
      ]);
      return { items: await this.getMany(ids), total };
    });
  }

  async getMany(ids: readonly string[]): Promise<StoredEntry[]> {
    if (ids.length === 0) return [];
    const values = await this.redis.mget(...ids.map((id) => dlqKeys.entry(id)));
    return values.flatMap((json) => (json === null ? [] : [JSON.parse(json) as StoredEntry]));
  }

  /** Entries parked, by origin name and classification (for `/stats` and the gauge). */
  async parkedByOrigin(): Promise<Record<string, Record<FailureClass, number>>> {
    const origins = await this.redis.smembers(dlqKeys.origins());
    const parked = dlqKeys.indexStatus('parked');
    const result: Record<string, Record<FailureClass, number>> = {};
    for (const origin of origins.sort()) {
      const counts = await Promise.all(
        FAILURE_CLASSES.map((c) => this.redis.zintercard(3, parked, dlqKeys.indexOrigin(origin), dlqKeys.indexClass(c))),
      );
      result[origin] = { transient: Number(counts[0]), permanent: Number(counts[1]) };
    }
    return result;
  }

  async countByStatus(): Promise<Record<EntryStatus, number>> {
    const counts = await Promise.all(ENTRY_STATUSES.map((status) => this.redis.zcard(dlqKeys.indexStatus(status))));
    return Object.fromEntries(ENTRY_STATUSES.map((status, index) => [status, counts[index] ?? 0])) as Record<EntryStatus, number>;
  }

  async increment(counter: CounterName, by = 1): Promise<void> {
    await this.redis.hincrby(dlqKeys.counters(), counter, by);
  }

  async counters(): Promise<Record<CounterName, number>> {
    const raw = await this.redis.hgetall(dlqKeys.counters());
    return Object.fromEntries(COUNTER_NAMES.map((name) => [name, Number(raw[name] ?? 0)])) as Record<CounterName, number>;
  }

  /** Remembers that `queue`/`jobId` is a retry of entry `entryId` (for "recovered"). */
  async track(queue: string, jobId: string, entryId: string): Promise<void> {
    await this.redis.hset(dlqKeys.tracking(), trackingField(queue, jobId), entryId);
  }

  async trackedEntry(queue: string, jobId: string): Promise<string | undefined> {
    return (await this.redis.hget(dlqKeys.tracking(), trackingField(queue, jobId))) ?? undefined;
  }

  async untrack(queue: string, jobId: string): Promise<void> {
    await this.redis.hdel(dlqKeys.tracking(), trackingField(queue, jobId));
  }

  async tracked(): Promise<{ queue: string; jobId: string; entryId: string }[]> {
    const raw = await this.redis.hgetall(dlqKeys.tracking());
    return Object.entries(raw).map(([field, entryId]) => {
      const [queue, jobId] = JSON.parse(field) as [string, string];
      return { queue, jobId, entryId };
    });
  }

  /**
   * Retention: removes finished entries (parked or recovered) created before `cutoffMs`, then
   * the oldest finished ones beyond `maxEntries`. Entries in flight are never removed.
   */
  async sweep(cutoffMs: number | undefined, maxEntries: number | undefined, batch = 500): Promise<number> {
    let removed = 0;
    const finished = (entry: StoredEntry): boolean => entry.status === 'parked' || entry.status === 'recovered';
    if (cutoffMs !== undefined) {
      const ids = await this.redis.zrangebyscore(dlqKeys.indexAll(), '-inf', cutoffMs, 'LIMIT', 0, batch);
      for (const entry of await this.getMany(ids)) if (finished(entry) && (await this.delete(entry.id))) removed += 1;
    }
    if (maxEntries !== undefined) {
      const excess = (await this.redis.zcard(dlqKeys.indexAll())) - maxEntries;
      if (excess > 0) {
        const ids = await this.redis.zrange(dlqKeys.indexAll(), 0, String(Math.min(excess, batch) - 1));
        for (const entry of await this.getMany(ids)) if (finished(entry) && (await this.delete(entry.id))) removed += 1;
      }
    }
    return removed;
  }

  /** Runs `read` on the one index matching `filter` (a temporary intersection when several). */
  private async withIndex<T>(filter: EntryFilter, read: (key: string) => Promise<T>): Promise<T> {
    const keys: string[] = [];
    if (filter.origin !== undefined) keys.push(dlqKeys.indexOrigin(filter.origin));
    if (filter.kind !== undefined) keys.push(dlqKeys.indexKind(filter.kind));
    if (filter.classification !== undefined) keys.push(dlqKeys.indexClass(filter.classification));
    if (filter.status !== undefined) keys.push(dlqKeys.indexStatus(filter.status));
    if (keys.length === 0) return read(dlqKeys.indexAll());
    if (keys.length === 1) return read(keys[0]!);
    const tmp = dlqKeys.tmp(randomUUID());
    // Every index scores by creation time, so MAX keeps that score. The key expires even if we die here.
    await this.redis.multi().zinterstore(tmp, keys.length, ...keys, 'AGGREGATE', 'MAX').pexpire(tmp, 30_000).exec();
    try {
      return await read(tmp);
    } finally {
      await this.redis.del(tmp);
    }
  }
}

function trackingField(queue: string, jobId: string): string {
  return JSON.stringify([queue, jobId]);
}

async function execOrThrow(multi: ReturnType<Redis['multi']>): Promise<void> {
  const results = await multi.exec();
  if (results === null) throw new Error('MULTI was discarded');
  const failed = results.find(([err]) => err !== null);
  if (failed?.[0]) throw failed[0];
}
