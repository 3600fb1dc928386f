import type { RedisClient } from '@event-infra/shared';
import { randomUUID } from 'node:crypto';
import { auditStreamKey, waitForReplica, AuditUnavailableError, type AuditWrite } from '@event-infra/shared';
import { ENTRY_STATUSES, FAILURE_CLASSES, dlqKeysFor, type DlqKeys, type EntryKind, type EntryState, type EntryStatus, type StoredEntry } from './stored-entry';
import type { FailureClass } from './dlq-classifier';
import { LuaScript } from '@event-infra/shared';
import { fingerprintOf } from './fingerprint';

const TRANSITION = new LuaScript(new URL('./lua/entry-transition-26.lua', import.meta.url));

/** The state machine's record of one entry (kept beside the entry, never in API answers). */
export interface EntryStateRecord {
  status: EntryState;
  version: number;
  /** Retry token of the entry's current (or next) retry; empty when none. */
  token: string;
}

/** One transition as the store applies it (see `EntryStateMachine` for the legal ones). */
export interface StoredTransition {
  id: string;
  /** The entry as it will be stored (status `to`, version `expectedVersion + 1`); its indexes come from it. */
  entry: StoredEntry | undefined;
  from: readonly EntryState[];
  to: EntryStatus | 'discarded' | 'purged';
  expectedVersion: number;
  /** New retry token; `-` clears it; absent keeps it. */
  token?: string;
  counters?: readonly CounterName[];
  /** Parks only: the alert bucket the entry joins in the same step (`Alerter.bucketOf`). */
  alert?: AlertBucketWrite | undefined;
  /** An operator's action: its audit record, appended in the same step (before any other write). */
  audit?: AuditWrite | undefined;
}

/** What a park adds to its origin's alert bucket. */
export interface AlertBucketWrite {
  key: string;
  kind: string;
  lastError: string;
  lastReason: string;
  /** Entry ids kept per bucket. */
  idLimit: number;
}

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
 * status, so listings never scan. Every write is one transition script (entry, indexes,
 * state record and counters at once).
 */
/** DLQ storage settings for a Redis Cluster master role. */
export interface DlqStoreOptions {
  /**
   * On a cluster: how long a transition waits for one replica to have it (`WAIT 1 <ms>`) before
   * it resolves, so that a parked entry survives its master's failover. Default 500 ms.
   */
  replicaWaitMs?: number;
  /** Called when no replica acknowledged a transition within `replicaWaitMs` (it stays on the master only). */
  onUnreplicated?: (id: string, to: string) => void;
}

export class DlqStore {
  private readonly keys: DlqKeys;

  constructor(
    private readonly redis: RedisClient,
    private readonly options: DlqStoreOptions = {},
  ) {
    this.keys = dlqKeysFor(redis.isCluster);
  }

  async get(id: string): Promise<StoredEntry | undefined> {
    const json = await this.redis.get(this.keys.entry(id));
    return json === null ? undefined : (JSON.parse(json) as StoredEntry);
  }

  /** The entry with its state record (status, version, retry token), in one round trip. */
  async read(id: string): Promise<{ entry: StoredEntry; state: EntryStateRecord } | undefined> {
    const results = await this.redis.multi().get(this.keys.entry(id)).hget(this.keys.state(), id).exec();
    const json = results?.[0]?.[1] as string | null | undefined;
    if (json === null || json === undefined) return undefined;
    const entry = JSON.parse(json) as StoredEntry;
    return { entry, state: parseState(results?.[1]?.[1] as string | null | undefined) ?? { status: entry.status, version: entry.version ?? 0, token: '' } };
  }

  /** The state record alone (`discarded` entries keep one); undefined for an unknown id. */
  async state(id: string): Promise<EntryStateRecord | undefined> {
    return parseState(await this.redis.hget(this.keys.state(), id));
  }

  /**
   * Applies one transition atomically (`entry-transition-26.lua`): the entry must be in one of
   * `from` at `expectedVersion`. Writes `entry` (with `status` `to`) and its indexes, or
   * removes it (`discarded`, `purged`), and increments `counters`. Resolves with the conflict
   * (current status and version) instead when the check fails; throws `AuditUnavailableError`
   * (nothing written) when `audit` is given and cannot be appended.
   */
  async transition(change: StoredTransition): Promise<{ ok: true; version: number } | { ok: false; status: EntryState; version: number }> {
    const { id } = change;
    const entry = change.entry === undefined ? undefined : withFingerprint(change.entry);
    const fp = entry?.fingerprint ?? '';
    const keys = [
      this.keys.entry(id),
      this.keys.state(),
      this.keys.indexAll(),
      this.keys.indexKind(entry?.kind ?? 'job'),
      this.keys.indexOrigin(entry?.originName ?? ''),
      this.keys.origins(),
      this.keys.counters(),
      ...FAILURE_CLASSES.map((c) => this.keys.indexClass(c)),
      ...ENTRY_STATUSES.map((status) => this.keys.indexStatus(status)),
      this.keys.alertBucket(change.alert?.key ?? ''),
      this.keys.alertBucketIds(change.alert?.key ?? ''),
      this.keys.alertBuckets(),
      change.audit?.key ?? auditStreamKey(this.redis.isCluster),
      this.keys.facets(),
      this.keys.search(),
      this.keys.indexFingerprint(fp),
      this.keys.fingerprint(fp),
      this.keys.fingerprints(),
      ...ENTRY_STATUSES.map((status) => this.keys.fingerprintsByStatus(status)),
    ];
    const args = [
      id,
      change.expectedVersion,
      change.from.join(' '),
      change.to,
      entry === undefined ? '' : JSON.stringify(entry),
      entry === undefined ? 0 : createdMs(entry),
      entry?.classification ?? 'permanent',
      entry?.originName ?? '',
      change.token ?? '',
      (change.counters ?? []).join(' '),
      change.alert?.key ?? '',
      Date.now(),
      change.alert?.kind ?? '',
      change.alert?.lastError ?? '',
      change.alert?.lastReason ?? '',
      change.alert?.idLimit ?? 1,
      change.audit === undefined ? '' : JSON.stringify(change.audit.fields),
      change.audit?.minId ?? 0,
      fp,
      entry?.kind ?? 'job',
      entry === undefined ? '' : searchTextOf(entry),
      entry === undefined ? '' : entry.error.message.slice(0, SAMPLE_MESSAGE_CHARS),
      entry === undefined ? '' : fingerprintOf(fingerprintInput(entry)).normalized,
      entry?.name ?? '',
      change.counters?.includes('received') === true ? '1' : '0',
    ];
    const reply = (await TRANSITION.run(this.redis, keys, args)) as [number, string, string];
    if (reply[0] === -1) throw new AuditUnavailableError(new Error(reply[1]));
    if (reply[0] !== 1) return { ok: false, status: reply[1] as EntryState, version: Number(reply[2]) };
    // Replication is asynchronous: on a cluster, wait until a replica has the transition, so a
    // failover right after cannot lose a parked entry that was already acknowledged upstream.
    const acknowledged = await waitForReplica(this.redis, this.keys.state(), this.options.replicaWaitMs ?? 500);
    if (acknowledged === 0) this.options.onUnreplicated?.(id, change.to);
    return { ok: true, version: Number(reply[2]) };
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
    const values = await this.redis.mget(...ids.map((id) => this.keys.entry(id)));
    return values.flatMap((json) => (json === null ? [] : [JSON.parse(json) as StoredEntry]));
  }

  /** Entries parked, by origin name and classification (for `/stats` and the gauge). */
  async parkedByOrigin(): Promise<Record<string, Record<FailureClass, number>>> {
    const origins = await this.redis.smembers(this.keys.origins());
    const parked = this.keys.indexStatus('parked');
    const result: Record<string, Record<FailureClass, number>> = {};
    for (const origin of origins.sort()) {
      const counts = await Promise.all(
        FAILURE_CLASSES.map((c) => this.redis.zintercard(3, parked, this.keys.indexOrigin(origin), this.keys.indexClass(c))),
      );
      result[origin] = { transient: Number(counts[0]), permanent: Number(counts[1]) };
    }
    return result;
  }

  async countByStatus(): Promise<Record<EntryStatus, number>> {
    const counts = await Promise.all(ENTRY_STATUSES.map((status) => this.redis.zcard(this.keys.indexStatus(status))));
    return Object.fromEntries(ENTRY_STATUSES.map((status, index) => [status, counts[index] ?? 0])) as Record<EntryStatus, number>;
  }

  async increment(counter: CounterName, by = 1): Promise<void> {
    await this.redis.hincrby(this.keys.counters(), counter, by);
  }

  async counters(): Promise<Record<CounterName, number>> {
    const raw = await this.redis.hgetall(this.keys.counters());
    return Object.fromEntries(COUNTER_NAMES.map((name) => [name, Number(raw[name] ?? 0)])) as Record<CounterName, number>;
  }

  /** Remembers that `queue`/`jobId` is a retry of entry `entryId` (for "recovered"). */
  async track(queue: string, jobId: string, entryId: string): Promise<void> {
    await this.redis.hset(this.keys.tracking(), trackingField(queue, jobId), entryId);
  }

  async trackedEntry(queue: string, jobId: string): Promise<string | undefined> {
    return (await this.redis.hget(this.keys.tracking(), trackingField(queue, jobId))) ?? undefined;
  }

  /** Remembers a consumer group whose "retry handled" records the recovery tracker must read. */
  async noteEventGroup(group: string): Promise<void> {
    await this.redis.sadd(this.keys.eventGroups(), group);
  }

  async eventGroups(): Promise<string[]> {
    return this.redis.smembers(this.keys.eventGroups());
  }

  async untrack(queue: string, jobId: string): Promise<void> {
    await this.redis.hdel(this.keys.tracking(), trackingField(queue, jobId));
  }

  async tracked(): Promise<{ queue: string; jobId: string; entryId: string }[]> {
    const raw = await this.redis.hgetall(this.keys.tracking());
    return Object.entries(raw).map(([field, entryId]) => {
      const [queue, jobId] = JSON.parse(field) as [string, string];
      return { queue, jobId, entryId };
    });
  }

  /**
   * Retention: removes finished entries (parked or recovered) created before `cutoffMs`, then
   * the oldest finished ones beyond `maxEntries`. Entries in flight are never removed; an entry
   * that changes meanwhile (an operator retries it) is skipped (its version moved on).
   */
  async sweep(cutoffMs: number | undefined, maxEntries: number | undefined, batch = 500): Promise<number> {
    let removed = 0;
    if (cutoffMs !== undefined) {
      const ids = await this.redis.zrangebyscore(this.keys.indexAll(), '-inf', cutoffMs, 'LIMIT', 0, batch);
      removed += await this.purgeFinished(await this.getMany(ids));
    }
    if (maxEntries !== undefined) {
      const excess = (await this.redis.zcard(this.keys.indexAll())) - maxEntries;
      if (excess > 0) {
        const ids = await this.redis.zrange(this.keys.indexAll(), 0, String(Math.min(excess, batch) - 1));
        removed += await this.purgeFinished(await this.getMany(ids));
      }
    }
    return removed;
  }

  private async purgeFinished(entries: StoredEntry[]): Promise<number> {
    let removed = 0;
    for (const entry of entries) {
      if (entry.status !== 'parked' && entry.status !== 'recovered') continue;
      const result = await this.transition({ id: entry.id, entry, from: [entry.status], to: 'purged', expectedVersion: entry.version ?? 0 });
      if (result.ok) removed += 1;
    }
    return removed;
  }

  /** Runs `read` on the one index matching `filter` (a temporary intersection when several). */
  private async withIndex<T>(filter: EntryFilter, read: (key: string) => Promise<T>): Promise<T> {
    const keys: string[] = [];
    if (filter.origin !== undefined) keys.push(this.keys.indexOrigin(filter.origin));
    if (filter.kind !== undefined) keys.push(this.keys.indexKind(filter.kind));
    if (filter.classification !== undefined) keys.push(this.keys.indexClass(filter.classification));
    if (filter.status !== undefined) keys.push(this.keys.indexStatus(filter.status));
    if (keys.length === 0) return read(this.keys.indexAll());
    if (keys.length === 1) return read(keys[0]!);
    const tmp = this.keys.tmp(randomUUID());
    // Every index scores by creation time, so MAX keeps that score. The key expires even if we die here.
    await this.redis.multi().zinterstore(tmp, keys.length, ...keys, 'AGGREGATE', 'MAX').pexpire(tmp, 30_000).exec();
    try {
      return await read(tmp);
    } finally {
      await this.redis.del(tmp);
    }
  }
}

/** Characters of an error message kept as a fingerprint's sample. */
export const SAMPLE_MESSAGE_CHARS = 300;
/** Characters of the error message the `q` search looks at. */
export const SEARCH_MESSAGE_CHARS = 512;

const fingerprintInput = (entry: StoredEntry) => ({ originName: entry.originName, name: entry.name, message: entry.error.message });

/** The entry with its fingerprint: computed from its first stored failure, then kept (so every index agrees on it). */
function withFingerprint(entry: StoredEntry): StoredEntry {
  if (entry.fingerprint !== undefined) return entry;
  entry.fingerprint = fingerprintOf(fingerprintInput(entry)).fingerprint;
  return entry;
}

/** What `q` searches: name, the start of the error message and an event's subject, lowercased. */
export function searchTextOf(entry: StoredEntry): string {
  const data = entry.data as { subject?: unknown } | null | undefined;
  const subject = entry.kind === 'event' && typeof data?.subject === 'string' ? data.subject.slice(0, 256) : '';
  return `${entry.name}\n${entry.error.message.slice(0, SEARCH_MESSAGE_CHARS)}\n${subject}`.toLowerCase();
}

function parseState(raw: string | null | undefined): EntryStateRecord | undefined {
  if (raw === null || raw === undefined) return undefined;
  const [status, version, token] = raw.split('|');
  return { status: status as EntryState, version: Number(version), token: token ?? '' };
}

function trackingField(queue: string, jobId: string): string {
  return JSON.stringify([queue, jobId]);
}
