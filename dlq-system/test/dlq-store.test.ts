import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REDIS_ROLES, createRedis, waitForRedis, type Redis } from '@event-infra/shared';
import { silentLogger, startRedisServer, type RedisServer } from '@event-infra/testing';
import { DlqStore } from '../src/core/dlq-store';
import { RetentionSweeper } from '../src/core/retention';
import { dlqKeys, type EntryStatus, type StoredEntry } from '../src/core/stored-entry';
import { storedEntry } from './support/stored-entries';

function entry(id: string, createdAt: Date, status: EntryStatus, origin = 'retention'): StoredEntry {
  return { ...storedEntry({ id, origin, status, message: 'x', createdAtMs: createdAt.getTime() }), data: {}, reason: 'r', origin: { kind: 'job', queue: origin, jobId: id } };
}

/** Stores `value` as a fresh entry (the store's transition from `new`, as `receive` does). */
async function put(store: DlqStore, value: StoredEntry): Promise<void> {
  const result = await store.transition({ id: value.id, entry: value, from: ['new'], to: value.status, expectedVersion: 0 });
  if (!result.ok) throw new Error(`could not store ${value.id}`);
}

describe('dlq-store retention', () => {
  let server: RedisServer;
  let redis: Redis;
  let store: DlqStore;

  beforeAll(async () => {
    server = await startRedisServer();
    redis = createRedis({ url: server.url, role: REDIS_ROLES.master, profile: 'producer', logger: silentLogger() });
    await waitForRedis(redis, 'master');
    store = new DlqStore(redis);
  });
  afterAll(async () => {
    redis.disconnect();
    await server.stop();
  });

  it('removes finished entries older than the age bound, never entries in flight, and cleans every index', async () => {
    await redis.flushall();
    const old = new Date(Date.now() - 10 * 86_400_000);
    await put(store, entry('old-parked', old, 'parked'));
    await put(store, entry('old-recovered', old, 'recovered'));
    await put(store, entry('old-scheduled', old, 'scheduled'));
    await put(store, entry('new-parked', new Date(), 'parked'));
    const sweeper = new RetentionSweeper({ maxAgeMs: 7 * 86_400_000, maxEntries: 0, intervalMs: 60_000 }, { store, logger: silentLogger() });

    expect(await sweeper.sweep()).toBe(2);
    expect((await store.list({}, 0, 10)).items.map((e) => e.id).sort()).toEqual(['new-parked', 'old-scheduled']);
    expect(await store.get('old-parked')).toBeUndefined();
    expect(await redis.zscore(dlqKeys.indexStatus('parked'), 'old-parked')).toBeNull();
    expect(await redis.zscore(dlqKeys.indexOrigin('retention'), 'old-recovered')).toBeNull();
    expect((await store.counters()).deleted).toBe(2);
  });

  it('bounds the count by removing the oldest finished entries first (an entry in flight stays)', async () => {
    await redis.flushall();
    const base = Date.now() - 60_000;
    for (let index = 0; index < 6; index += 1) await put(store, entry(`e${index}`, new Date(base + index * 1_000), 'parked'));
    await put(store, entry('in-flight', new Date(base - 1_000), 'retried'));
    const sweeper = new RetentionSweeper({ maxAgeMs: 0, maxEntries: 4, intervalMs: 60_000 }, { store, logger: silentLogger() });

    expect(await sweeper.sweep()).toBe(2);
    expect((await store.list({}, 0, 10)).items.map((e) => e.id)).toEqual(['e5', 'e4', 'e3', 'e2', 'in-flight']);
  });
});
