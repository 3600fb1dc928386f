import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { silentLogger, uniqueName } from '@event-infra/testing';
import { fingerprintOf } from '../src/core/fingerprint';
import { IndexBackfill } from '../src/core/index-backfill';
import { ENTRY_STATUSES, dlqKeys, type StoredEntry } from '../src/core/stored-entry';
import { startDlqFixture, type DlqFixture } from './support/dlq-harness';
import { putEntries, storedEntry } from './support/stored-entries';

/** Every page of a listing, following `nextCursor`; the ids in order. */
async function walk(fx: DlqFixture, query: string): Promise<{ ids: string[]; pages: any[] }> {
  const ids: string[] = [];
  const pages: any[] = [];
  let cursor: string | null = null;
  do {
    const path: string = `/dlq?${query}${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`;
    const { status, body } = await fx.api('GET', path);
    expect(status).toBe(200);
    pages.push(body);
    ids.push(...body.items.map((item: any) => item.id));
    cursor = body.nextCursor;
    if (pages.length > 500) throw new Error('paging does not end');
  } while (cursor !== null);
  return { ids, pages };
}

/** What the listing must answer: newest first (creation time, then id), the filter applied in memory. */
function expected(entries: StoredEntry[], keep: (entry: StoredEntry) => boolean): string[] {
  return entries
    .filter(keep)
    .sort((a, b) => Date.parse(b.createdAt) - Date.parse(a.createdAt) || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0))
    .map((entry) => entry.id);
}

describe('console queries: cursor pages, filters, text search and fingerprints over the DLQ indexes', () => {
  let fx: DlqFixture;
  let master: Redis;
  const originA = uniqueName('cq-a');
  const originB = uniqueName('cq-b');
  const entries: StoredEntry[] = [];
  const base = Date.now() - 3_600_000;

  beforeAll(async () => {
    fx = await startDlqFixture({ DLQ_SCAN_MAX: '60' });
    master = new Redis(fx.master.url);
    // 260 entries: two origins, both classes, three statuses, three failure shapes whose
    // messages differ only in numbers, ids and URLs; 20 share one millisecond (ties).
    for (let i = 0; i < 260; i += 1) {
      const shape = i % 3;
      const message =
        shape === 0
          ? `timeout after ${1000 + i}ms calling https://api.example.com/items/${i}?x=${i}`
          : shape === 1
            ? `record 3b241101-e2bb-4255-8caf-${String(100000000000 + i)} not found in "table-${i}"`
            : `HTTP 4${String(i % 10).padStart(2, '0')} from upstream`;
      entries.push(
        storedEntry({
          id: `cq-${String(i).padStart(3, '0')}`,
          origin: i % 4 === 0 ? originB : originA,
          status: ENTRY_STATUSES[i % 7 === 0 ? 0 : i % 5 === 0 ? 2 : 3]!,
          classification: i % 2 === 0 ? 'transient' : 'permanent',
          kind: i % 13 === 0 ? 'event' : 'job',
          ...(i % 13 === 0 ? { name: 'workspace.created', subject: `workspace/Needle-${i}` } : {}),
          message,
          createdAtMs: i < 20 ? base : base + i * 1000,
        }),
      );
    }
    await putEntries(fx.processor.store, entries);
  });
  afterAll(async () => {
    master?.disconnect();
    await fx?.close();
  });

  it('pages with a cursor through every entry exactly once, newest first, ties included', async () => {
    const { ids, pages } = await walk(fx, 'limit=37');
    expect(ids).toEqual(expected(entries, () => true));
    expect(pages[0].total).toBe(260);
    expect(pages[0].page).toBe(1);
    expect(pages[0].nextPage).toBe(2);
    expect(pages.every((page) => page.items.length <= 37)).toBe(true);
  });

  it('continues after a cursor whose entry left the index meanwhile (among ties too)', async () => {
    const origin = uniqueName('cq-gone');
    const own = Array.from({ length: 12 }, (_, i) => storedEntry({ id: `${origin}-${String(i).padStart(2, '0')}`, origin, createdAtMs: base + (i < 8 ? 0 : i) }));
    await putEntries(fx.processor.store, own);
    const order = expected(own, () => true);
    const first = await fx.api('GET', `/dlq?origin=${origin}&limit=6`);
    expect(first.body.items.map((item: any) => item.id)).toEqual(order.slice(0, 6));
    // The page's last entry (one of the tied ones) is discarded before the next page is read.
    expect((await fx.api('DELETE', `/dlq/${order[5]}`)).status).toBe(200);
    const next = await fx.api('GET', `/dlq?origin=${origin}&limit=6&cursor=${encodeURIComponent(first.body.nextCursor)}`);
    expect(next.body.items.map((item: any) => item.id)).toEqual(order.slice(6));
  });

  it.each([
    ['origin and status', (o: string) => `origin=${o}&status=parked`, (e: StoredEntry, o: string) => e.originName === o && e.status === 'parked'],
    ['origin, class, kind and status', (o: string) => `origin=${o}&classification=transient&kind=job&status=parked`, (e: StoredEntry, o: string) => e.originName === o && e.classification === 'transient' && e.kind === 'job' && e.status === 'parked'],
    ['status and time range', () => `status=parked&from=${new Date(base + 50_000).toISOString()}&to=${new Date(base + 150_000).toISOString()}`, (e: StoredEntry) => e.status === 'parked' && Date.parse(e.createdAt) >= base + 50_000 && Date.parse(e.createdAt) <= base + 150_000],
    ['event kind alone', () => 'kind=event', (e: StoredEntry) => e.kind === 'event'],
  ])('filters by %s: the pages together hold exactly the matches; each page examines at most DLQ_SCAN_MAX', async (_name, query, keep) => {
    const { ids, pages } = await walk(fx, `${query(originA)}&limit=25`);
    expect(ids).toEqual(expected(entries, (e) => keep(e, originA)));
    for (const page of pages) expect(page.scanned).toBeLessThanOrEqual(60);
  });

  it('gives the exact total when cheap and null when not, and says when a page stopped at its scan bound', async () => {
    const combined = await fx.api('GET', `/dlq?origin=${originA}&classification=transient&status=parked&limit=200`);
    expect(combined.body.total).toBe(expected(entries, (e) => e.originName === originA && e.classification === 'transient' && e.status === 'parked').length);
    const timed = await fx.api('GET', `/dlq?origin=${originA}&status=parked&from=${new Date(base).toISOString()}`);
    expect(timed.body.total).toBeNull();
    const single = await fx.api('GET', `/dlq?status=parked&from=${new Date(base + 100_000).toISOString()}`);
    expect(single.body.total).toBe(expected(entries, (e) => e.status === 'parked' && Date.parse(e.createdAt) >= base + 100_000).length);
    // A rare match: the first page examines 60 entries, finds few or none, and says it is not complete.
    const rare = await fx.api('GET', '/dlq?q=needle-234&limit=10');
    expect(rare.body.scanned).toBe(60);
    expect(rare.body.complete).toBe(false);
    expect(rare.body.nextCursor).not.toBeNull();
    expect(rare.body.total).toBeNull();
  });

  it('searches name, error message and subject, case-insensitively', async () => {
    const bySubject = await walk(fx, 'q=NEEDLE-&limit=50');
    expect(bySubject.ids).toEqual(expected(entries, (e) => e.kind === 'event'));
    const byMessage = await walk(fx, 'q=upstream&limit=50');
    expect(byMessage.ids).toEqual(expected(entries, (e) => e.error.message.includes('upstream')));
    const byName = await walk(fx, `q=WORKSPACE.CREATED&origin=${originB}&limit=50`);
    expect(byName.ids).toEqual(expected(entries, (e) => e.name === 'workspace.created' && e.originName === originB));
  });

  it('groups by fingerprint: numbers, ids, quoted values and URLs do not split a group; counts per status', async () => {
    const { body } = await fx.api('GET', `/dlq/fingerprints?origin=${originA}&limit=200`);
    const mine = entries.filter((e) => e.originName === originA);
    const groups = new Map<string, StoredEntry[]>();
    for (const entry of mine) {
      const fp = fingerprintOf({ originName: entry.originName, name: entry.name, message: entry.error.message }).fingerprint;
      groups.set(fp, [...(groups.get(fp) ?? []), entry]);
    }
    // Three message shapes × two names (jobs and events) at most, however many distinct messages.
    expect(new Set(mine.map((e) => e.error.message)).size).toBeGreaterThan(100);
    expect(groups.size).toBeLessThanOrEqual(6);
    expect(body.items).toHaveLength(groups.size);
    for (const item of body.items) {
      const members = groups.get(item.fingerprint)!;
      expect(item.count).toBe(members.length);
      expect(item.byStatus.parked).toBe(members.filter((e) => e.status === 'parked').length);
      expect(item.origin).toBe(originA);
      expect(item.sampleMessage).not.toBe('');
    }
    const counts = body.items.map((item: any) => item.count);
    expect([...counts].sort((a, b) => b - a)).toEqual(counts);
    const timeout = body.items.find((item: any) => item.normalized.startsWith('timeout after'));
    expect(timeout.normalized).toBe('timeout after <n>ms calling <url>');

    // The listing by fingerprint holds that group exactly; only parked ones with status.
    const listed = await walk(fx, `fingerprint=${timeout.fingerprint}&status=parked&limit=7`);
    expect(listed.ids).toEqual(expected(groups.get(timeout.fingerprint)!, (e) => e.status === 'parked'));
    const parkedOnly = await fx.api('GET', `/dlq/fingerprints?status=parked&origin=${originA}`);
    expect(parkedOnly.body.items.find((item: any) => item.fingerprint === timeout.fingerprint).count).toBe(listed.ids.length);
  });

  it('keeps the counters in the entry transition: a discard lowers them, the last one removes the group', async () => {
    const origin = uniqueName('cq-discard');
    const own = [0, 1, 2].map((i) => storedEntry({ id: `${origin}-${i}`, origin, message: `gone ${i}` }));
    await putEntries(fx.processor.store, own);
    const fp = (await fx.api('GET', `/dlq/fingerprints?origin=${origin}`)).body.items[0];
    expect(fp.count).toBe(3);
    expect((await fx.api('DELETE', `/dlq/${own[0]!.id}`)).status).toBe(200);
    expect((await fx.api('GET', `/dlq/fingerprints?origin=${origin}`)).body.items[0].count).toBe(2);
    for (const entry of own.slice(1)) expect((await fx.api('DELETE', `/dlq/${entry.id}`)).status).toBe(200);
    expect((await fx.api('GET', `/dlq/fingerprints?origin=${origin}`)).body.items).toEqual([]);
    expect(await master.exists(dlqKeys.fingerprint(fp.fingerprint), dlqKeys.indexFingerprint(fp.fingerprint))).toBe(0);
  });

  it('backfills entries stored before the console indexes once, and the counts match', async () => {
    const before = (await fx.api('GET', `/dlq/fingerprints?origin=${originB}&limit=200`)).body.items;
    const own = entries.filter((e) => e.originName === originB);
    // Entries as an older version stored them: no fingerprint, no facets, no search text, no counters.
    for (const entry of own) {
      const { fingerprint: _fp, ...old } = JSON.parse((await master.get(dlqKeys.entry(entry.id)))!);
      await master.set(dlqKeys.entry(entry.id), JSON.stringify(old));
      await master.hdel(dlqKeys.facets(), entry.id);
      await master.hdel(dlqKeys.search(), entry.id);
    }
    for (const item of before) {
      for (const key of [dlqKeys.fingerprints(), ...ENTRY_STATUSES.map((s) => dlqKeys.fingerprintsByStatus(s))]) await master.zrem(key, item.fingerprint);
      await master.del(dlqKeys.fingerprint(item.fingerprint), dlqKeys.indexFingerprint(item.fingerprint));
    }
    await master.del(dlqKeys.indexVersion());
    expect((await fx.api('GET', `/dlq/fingerprints?origin=${originB}`)).body.items).toEqual([]);

    const backfill = new IndexBackfill({ redis: master, handler: fx.processor.handler, logger: silentLogger() });
    expect(await backfill.run()).toBe(own.length);
    expect(await master.get(dlqKeys.indexVersion())).toBe('1');
    expect(await backfill.run()).toBe(0);
    const after = (await fx.api('GET', `/dlq/fingerprints?origin=${originB}&limit=200`)).body.items;
    const strip = (items: any[]) => items.map(({ fingerprint, count, byStatus }) => ({ fingerprint, count, byStatus })).sort((a, b) => (a.fingerprint < b.fingerprint ? -1 : 1));
    expect(strip(after)).toEqual(strip(before));
    expect((await walk(fx, `q=needle&origin=${originB}&limit=50`)).ids).toEqual(expected(own, (e) => e.kind === 'event'));
  });

  it('refuses a forged cursor, page paging combined with q, and a malformed fingerprint (400, named field)', async () => {
    const forged = await fx.api('GET', '/dlq?cursor=bm90LWEtY3Vyc29y');
    expect(forged.status).toBe(400);
    expect(forged.body.details[0].path).toBe('cursor');
    const mixed = await fx.api('GET', '/dlq?page=2&q=x');
    expect(mixed.status).toBe(400);
    expect(mixed.body.details[0].path).toBe('page');
    const badFp = await fx.api('GET', '/dlq?fingerprint=XYZ');
    expect(badFp.status).toBe(400);
    expect(badFp.body.details[0].path).toBe('fingerprint');
    // Legacy offset paging still answers as before.
    const legacy = await fx.api('GET', `/dlq?origin=${originA}&page=2&limit=10`);
    expect(legacy.body).toMatchObject({ page: 2, limit: 10, nextPage: 3 });
    expect(legacy.body.items).toHaveLength(10);
  });
});
