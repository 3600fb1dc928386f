import type { RedisClient } from '@event-infra/shared';
import { LuaScript, ValidationError } from '@event-infra/shared';
import type { DlqStore, EntryFilter } from './dlq-store';
import { ENTRY_STATUSES, dlqKeysFor, type DlqKeys, type EntryKind, type EntryStatus, type StoredEntry } from './stored-entry';

const PAGE = new LuaScript(new URL('./lua/dlq-page-3.lua', import.meta.url));

/** A listing filter: the indexed criteria, a fingerprint, and a text searched in name, error and subject. */
export interface ListFilter extends EntryFilter {
  fingerprint?: string;
  /** Case-insensitive substring (lowercased here). */
  q?: string;
}

export interface CursorPage {
  items: StoredEntry[];
  /** Exact count of the filter when cheap (see `DlqQuery.page`), else null. */
  total: number | null;
  /** Index entries this page examined. */
  scanned: number;
  /** False when the page stopped at the scan bound rather than at the end of the matches. */
  complete: boolean;
  nextCursor: string | null;
}

export interface FingerprintQuery {
  status?: EntryStatus;
  origin?: string;
  kind?: EntryKind;
  limit: number;
}

export interface FingerprintSummary {
  fingerprint: string;
  origin: string;
  kind: string;
  name: string;
  /** Stored entries with this fingerprint (in `status` when one was asked). */
  count: number;
  byStatus: Record<EntryStatus, number>;
  firstSeenAt: string | null;
  lastSeenAt: string | null;
  sampleMessage: string;
  normalized: string;
}

export interface DlqQueryOptions {
  /** `DLQ_SCAN_MAX`: index entries one page examines at most. */
  scanMax: number;
  /** Fingerprints one `fingerprints()` call examines at most when filtering by origin or kind. */
  fingerprintScanMax?: number;
}

/** Encodes a page position: the creation time and id of the last entry examined. */
export function encodeCursor(score: string, id: string): string {
  return Buffer.from(JSON.stringify([score, id])).toString('base64url');
}

/** Reads a cursor back; 400 `validation_failed` for anything `encodeCursor` did not make. */
export function decodeCursor(cursor: string): { score: string; id: string } {
  try {
    const value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(value) && value.length === 2 && typeof value[1] === 'string' && typeof value[0] === 'string' && /^-?\d+(\.\d+)?$/.test(value[0])) {
      return { score: value[0], id: value[1] };
    }
  } catch {
    // Not base64 JSON: refused below with the same message as a well-formed wrong value.
  }
  throw new ValidationError('invalid query: cursor: not a cursor of this listing', [{ path: 'cursor', message: 'not a cursor of this listing' }]);
}

/**
 * The console's reads of DLQ storage: cursor pages over the indexes with the filter checked
 * per id in one script (`dlq-page-3.lua`), and fingerprint groups from the counters the
 * entry transition keeps. Neither scans the keyspace nor recomputes a count.
 */
export class DlqQuery {
  private readonly fingerprintScanMax: number;
  private readonly keys: DlqKeys;

  constructor(
    private readonly deps: { redis: RedisClient; store: DlqStore },
    private readonly options: DlqQueryOptions,
  ) {
    this.fingerprintScanMax = options.fingerprintScanMax ?? 5_000;
    this.keys = dlqKeysFor(deps.redis.isCluster);
  }

  /**
   * Newest first from `cursor` (a `nextCursor`, or undefined for the first page). Walks the
   * smallest of the filter's indexes and checks the other criteria per id, examining at most
   * `scanMax` entries. `total` (first page only) is exact for one index (any time range), or
   * several without a time range and without `q` (`ZINTERCARD`); null otherwise.
   */
  async page(filter: ListFilter, cursor: string | undefined, limit: number): Promise<CursorPage> {
    const candidates = this.indexesOf(filter);
    const { ids, ...rest } = await this.scanIds(filter, cursor, limit);
    // The total is the filter's, not the page's: counted on the first page only (later pages answer null).
    const [items, total] = await Promise.all([this.deps.store.getMany(ids), cursor === undefined ? this.totalOf(filter, candidates) : null]);
    return { items, total, ...rest };
  }

  /** `page` without loading the entries (and without the total): the ids of one page. */
  async scanIds(filter: ListFilter, cursor: string | undefined, limit: number): Promise<Omit<CursorPage, 'items' | 'total'> & { ids: string[] }> {
    const position = cursor === undefined ? undefined : decodeCursor(cursor);
    const candidates = this.indexesOf(filter);
    const sizes = candidates.length <= 1 ? [] : await Promise.all(candidates.map((key) => this.deps.redis.zcard(key)));
    let smallest = 0;
    sizes.forEach((size, index) => {
      if (size < sizes[smallest]!) smallest = index;
    });
    const walked = candidates[smallest] ?? this.keys.indexAll();
    // The walked index needs no check per id; only the other criteria do.
    const rest = (key: string | undefined, value: string | undefined): string => (value === undefined || key === walked ? '' : value);
    const q = filter.q === undefined ? '' : filter.q.toLowerCase();
    const reply = (await PAGE.run(
      this.deps.redis,
      [walked, this.keys.facets(), this.keys.search()],
      [
        position?.score ?? '',
        position?.id ?? '',
        filter.toMs ?? '+inf',
        filter.fromMs ?? '-inf',
        rest(filter.kind && this.keys.indexKind(filter.kind), filter.kind),
        rest(filter.classification && this.keys.indexClass(filter.classification), filter.classification),
        rest(filter.status && this.keys.indexStatus(filter.status), filter.status),
        this.options.scanMax,
        limit,
        rest(filter.fingerprint && this.keys.indexFingerprint(filter.fingerprint), filter.fingerprint),
        rest(filter.origin && this.keys.indexOrigin(filter.origin), filter.origin),
        q,
      ],
    )) as [number, number, string, string, ...string[]];
    const [scanned, ended, lastScore, lastId, ...ids] = reply;
    return {
      ids,
      scanned,
      complete: ended === 1 || ids.length >= limit,
      nextCursor: ended === 1 || scanned === 0 ? null : encodeCursor(String(lastScore), String(lastId)),
    };
  }

  /** Fingerprints by stored entries, largest first (in `status`, when given), filtered by origin and kind. */
  async fingerprints(query: FingerprintQuery): Promise<{ items: FingerprintSummary[]; total: number }> {
    const counts = query.status === undefined ? this.keys.fingerprints() : this.keys.fingerprintsByStatus(query.status);
    const filtered = query.origin !== undefined || query.kind !== undefined;
    const [rows, total] = await Promise.all([
      this.deps.redis.zrevrange(counts, 0, (filtered ? this.fingerprintScanMax : query.limit) - 1, 'WITHSCORES'),
      this.deps.redis.zcard(counts),
    ]);
    const pairs: [string, number][] = [];
    for (let i = 0; i + 1 < rows.length; i += 2) pairs.push([rows[i]!, Number(rows[i + 1])]);
    const metas = await this.metaOf(pairs.map(([fp]) => fp));
    const picked = pairs
      .map(([fp, count], index) => ({ fp, count, meta: metas[index]! }))
      .filter(({ meta }) => (query.origin === undefined || meta.origin === query.origin) && (query.kind === undefined || meta.kind === query.kind))
      .slice(0, query.limit);
    const byStatus = await this.byStatusOf(picked.map(({ fp }) => fp));
    const items = picked.map(({ fp, count, meta }, index) => ({
      fingerprint: fp,
      origin: meta.origin ?? '',
      kind: meta.kind ?? '',
      name: meta.name ?? '',
      count,
      byStatus: byStatus[index]!,
      firstSeenAt: isoOf(meta.firstSeenMs),
      lastSeenAt: isoOf(meta.lastSeenMs),
      sampleMessage: meta.sample ?? '',
      normalized: meta.normalized ?? '',
    }));
    return { items, total: filtered ? items.length : total };
  }

  private async metaOf(fps: string[]): Promise<Record<string, string | undefined>[]> {
    if (fps.length === 0) return [];
    const pipeline = this.deps.redis.pipeline();
    for (const fp of fps) pipeline.hgetall(this.keys.fingerprint(fp));
    const results = (await pipeline.exec()) ?? [];
    return results.map(([, value]) => (value ?? {}) as Record<string, string>);
  }

  private async byStatusOf(fps: string[]): Promise<Record<EntryStatus, number>[]> {
    if (fps.length === 0) return [];
    const pipeline = this.deps.redis.pipeline();
    for (const fp of fps) for (const status of ENTRY_STATUSES) pipeline.zscore(this.keys.fingerprintsByStatus(status), fp);
    const results = (await pipeline.exec()) ?? [];
    return fps.map((_fp, index) =>
      Object.fromEntries(ENTRY_STATUSES.map((status, s) => [status, Number(results[index * ENTRY_STATUSES.length + s]?.[1] ?? 0)])) as Record<EntryStatus, number>,
    );
  }

  private indexesOf(filter: ListFilter): string[] {
    const keys: string[] = [];
    if (filter.fingerprint !== undefined) keys.push(this.keys.indexFingerprint(filter.fingerprint));
    if (filter.origin !== undefined) keys.push(this.keys.indexOrigin(filter.origin));
    if (filter.kind !== undefined) keys.push(this.keys.indexKind(filter.kind));
    if (filter.classification !== undefined) keys.push(this.keys.indexClass(filter.classification));
    if (filter.status !== undefined) keys.push(this.keys.indexStatus(filter.status));
    return keys;
  }

  private async totalOf(filter: ListFilter, keys: string[]): Promise<number | null> {
    if (filter.q !== undefined) return null;
    const timed = filter.fromMs !== undefined || filter.toMs !== undefined;
    if (keys.length <= 1) return this.deps.redis.zcount(keys[0] ?? this.keys.indexAll(), filter.fromMs ?? '-inf', filter.toMs ?? '+inf');
    if (timed) return null;
    return Number(await this.deps.redis.zintercard(keys.length, ...keys));
  }
}

function isoOf(ms: string | undefined): string | null {
  if (ms === undefined || ms === '') return null;
  const value = Number(ms);
  return Number.isFinite(value) ? new Date(value).toISOString() : null;
}
