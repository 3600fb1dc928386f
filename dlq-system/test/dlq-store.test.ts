import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REDIS_ROLES, createRedis, waitForRedis, type Redis } from '@event-infra/shared';
import { silentLogger, startRedisServer, type RedisServer } from '@event-infra/testing';
import { DlqStore } from '../src/core/dlq-store';
import { RetentionSweeper } from '../src/core/retention';
import { dlqKeys, type EntryStatus, type StoredEntry } from '../src/core/stored-entry';
import { storedEntry } from './support/stored-entries';

function entry(id: string, createdAt: Date, status: EntryStatus, origin = 'retention'): StoredEntry {
  return storedEntry({ id, origin, status, createdAtMs: createdAt.getTime() });
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

describe('dlq-store queries', () => {
  let server: RedisServer;
  let redis: Redis;
  let store: DlqStore;
  const base = Date.parse('2026-01-01T00:00:00.000Z');

  beforeAll(async () => {
    server = await startRedisServer();
    redis = createRedis({ url: server.url, role: REDIS_ROLES.master, profile: 'producer', logger: silentLogger() });
    await waitForRedis(redis, 'master');
    store = new DlqStore(redis);
    // Six entries a minute apart: two origins, both kinds, both classes, three statuses.
    const specs: [string, EntryStatus, string, 'job' | 'event', 'transient' | 'permanent'][] = [
      ['a0', 'parked', 'orders', 'job', 'permanent'],
      ['a1', 'parked', 'orders', 'job', 'transient'],
      ['a2', 'scheduled', 'orders', 'job', 'transient'],
      ['b0', 'parked', 'billing', 'event', 'permanent'],
      ['b1', 'recovered', 'billing', 'event', 'transient'],
      ['b2', 'parked', 'billing', 'job', 'permanent'],
    ];
    for (const [index, [id, status, origin, kind, classification]] of specs.entries()) {
      await put(store, { ...entry(id, new Date(base + index * 60_000), status, origin), kind, classification });
    }
  });
  afterAll(async () => {
    redis.disconnect();
    await server.stop();
  });

  const ids = async (filter: Parameters<DlqStore['list']>[0], offset = 0, limit = 10) => {
    const page = await store.list(filter, offset, limit);
    return { ids: page.items.map((item) => item.id), total: page.total };
  };

  it('lists newest first, pages by offset and limit, and counts the whole filtered set', async () => {
    expect(await ids({})).toEqual({ ids: ['b2', 'b1', 'b0', 'a2', 'a1', 'a0'], total: 6 });
    expect(await ids({}, 2, 2)).toEqual({ ids: ['b0', 'a2'], total: 6 });
    expect(await ids({}, 6, 2)).toEqual({ ids: [], total: 6 });
  });

  it('filters by each index alone and by their intersection, and by creation time (bounds included)', async () => {
    expect(await ids({ origin: 'orders' })).toEqual({ ids: ['a2', 'a1', 'a0'], total: 3 });
    expect(await ids({ kind: 'event' })).toEqual({ ids: ['b1', 'b0'], total: 2 });
    expect(await ids({ classification: 'permanent' })).toEqual({ ids: ['b2', 'b0', 'a0'], total: 3 });
    expect(await ids({ status: 'parked' })).toEqual({ ids: ['b2', 'b0', 'a1', 'a0'], total: 4 });
    expect(await ids({ origin: 'billing', status: 'parked' })).toEqual({ ids: ['b2', 'b0'], total: 2 });
    expect(await ids({ origin: 'billing', kind: 'job', classification: 'permanent', status: 'parked' })).toEqual({ ids: ['b2'], total: 1 });
    expect(await ids({ status: 'parked' }, 1, 2)).toEqual({ ids: ['b0', 'a1'], total: 4 });
    expect(await ids({ fromMs: base + 60_000, toMs: base + 3 * 60_000 })).toEqual({ ids: ['b0', 'a2', 'a1'], total: 3 });
    expect(await ids({ status: 'parked', fromMs: base + 60_000 })).toEqual({ ids: ['b2', 'b0', 'a1'], total: 3 });
    expect(await ids({ origin: 'orders', toMs: base })).toEqual({ ids: ['a0'], total: 1 });
    // The temporary intersections are removed after each read.
    expect(await redis.keys(dlqKeys.tmp('*'))).toEqual([]);
  });

  it('counts parked entries by origin and class, and entries by status', async () => {
    expect(await store.parkedByOrigin()).toEqual({ billing: { transient: 0, permanent: 2 }, orders: { transient: 1, permanent: 1 } });
    expect(await store.countByStatus()).toEqual({ scheduled: 1, retried: 0, recovered: 1, parked: 4 });
  });

  it('keeps counters by name (absent ones read 0) and tracking of retry jobs by queue and job id', async () => {
    await store.increment('alerts');
    await store.increment('alerts', 4);
    const counters = await store.counters();
    expect(counters.alerts).toBe(5);
    expect(counters.webhookFailed).toBe(0);
    await store.track('q:1', 'job:1', 'a1');
    await store.track('q', '1:job:1', 'a2');
    expect(await store.trackedEntry('q:1', 'job:1')).toBe('a1');
    expect(await store.trackedEntry('q', '1:job:1')).toBe('a2');
    expect(await store.trackedEntry('q', 'job:1')).toBeUndefined();
    expect((await store.tracked()).sort((x, y) => x.entryId.localeCompare(y.entryId))).toEqual([
      { queue: 'q:1', jobId: 'job:1', entryId: 'a1' },
      { queue: 'q', jobId: '1:job:1', entryId: 'a2' },
    ]);
    await store.untrack('q:1', 'job:1');
    expect(await store.trackedEntry('q:1', 'job:1')).toBeUndefined();
    expect(await store.trackedEntry('q', '1:job:1')).toBe('a2');
  });

  it('reads an entry with its state record; getMany skips missing ids; a transition moves the class index', async () => {
    expect(await store.read('a1')).toMatchObject({ entry: { id: 'a1' }, state: { status: 'parked', version: 1, token: '' } });
    expect(await store.read('missing')).toBeUndefined();
    expect(await store.state('missing')).toBeUndefined();
    expect((await store.getMany(['a0', 'missing', 'b0'])).map((item) => item.id)).toEqual(['a0', 'b0']);
    expect(await store.getMany([])).toEqual([]);
    const a1 = (await store.get('a1'))!;
    const moved = await store.transition({ id: 'a1', entry: { ...a1, classification: 'permanent', version: 2 }, from: ['parked'], to: 'parked', expectedVersion: 1 });
    expect(moved).toEqual({ ok: true, version: 2 });
    expect(await redis.zscore(dlqKeys.indexClass('transient'), 'a1')).toBeNull();
    expect(await redis.zscore(dlqKeys.indexClass('permanent'), 'a1')).not.toBeNull();
    expect(await store.transition({ id: 'a1', entry: a1, from: ['parked'], to: 'parked', expectedVersion: 1 })).toEqual({ ok: false, status: 'parked', version: 2 });
  });
});
