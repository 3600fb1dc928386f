import type { RedisClient } from '../redis/create-redis';
import { AppError, toError } from '../errors';
import { auditStreamKey } from '../names';
import { fromStreamEntry, targetOf, toStreamFields, type AuditActor, type AuditOutcome, type AuditRecord, type AuditTarget } from './audit-record';

export interface AuditLogOptions {
  /** `AUDIT_RETENTION_DAYS` in ms: records older than this are trimmed on each write (`XADD MINID ~`). */
  retentionMs: number;
  /** Stream key (default `AUDIT_STREAM`). */
  key?: string;
}

export interface AuditFilter {
  principal?: string | undefined;
  action?: string | undefined;
  /** Exact target, or a prefix when it ends with `*`. */
  target?: string | undefined;
  fromMs?: number | undefined;
  toMs?: number | undefined;
}

/** One prepared write: what a Lua script needs to append the record in its own atomic step. */
export interface AuditWrite {
  key: string;
  /** `XADD … MINID ~ <minId>`: the retention bound at the time of writing, ms. */
  minId: number;
  fields: string[];
  record: AuditRecord;
}

/** Thrown when the audit record cannot be stored: the action it belongs to is refused (503). */
export class AuditUnavailableError extends AppError {
  constructor(cause: unknown) {
    super('unavailable', 'the audit log cannot be written (master Redis unavailable): the action was refused and nothing was changed', undefined, { cause });
    this.name = 'AuditUnavailableError';
  }
}

const CHUNK = 500;

function matches(record: AuditRecord, filter: AuditFilter): boolean {
  if (filter.principal !== undefined && record.principal !== filter.principal) return false;
  if (filter.action !== undefined && record.action !== filter.action) return false;
  if (filter.target !== undefined) {
    const prefix = filter.target.endsWith('*') ? filter.target.slice(0, -1) : undefined;
    if (prefix !== undefined ? !record.target.startsWith(prefix) : record.target !== filter.target) return false;
  }
  return true;
}

/**
 * The audit log on the master Redis: a stream of `AuditRecord`s, trimmed by age on every
 * write. Writers either `append` (one XADD, before an action on another Redis) or `prepare`
 * a write that a transition script applies in the same atomic step as the action.
 */
export class AuditLog {
  readonly key: string;

  constructor(
    private readonly options: AuditLogOptions,
    private readonly redis: RedisClient,
  ) {
    this.key = options.key ?? auditStreamKey(redis.isCluster);
  }

  prepare(actor: AuditActor, action: string, detail: AuditTarget, outcome: AuditOutcome, failure?: { status: number; error: string }): AuditWrite {
    const nowMs = Date.now();
    const record: AuditRecord = { ...actor, time: new Date(nowMs).toISOString(), action, target: targetOf(detail), detail, outcome, ...failure };
    return { key: this.key, minId: Math.max(0, nowMs - this.options.retentionMs), fields: toStreamFields(record), record };
  }

  /** Appends one record; throws `AuditUnavailableError` when Redis does not take it. */
  async append(actor: AuditActor, action: string, detail: AuditTarget, outcome: AuditOutcome, failure?: { status: number; error: string }): Promise<string> {
    const write = this.prepare(actor, action, detail, outcome, failure);
    try {
      const id = await this.redis.xadd(write.key, 'MINID', '~', String(write.minId), '*', ...write.fields);
      if (id === null) throw new Error('XADD returned no id');
      return id;
    } catch (caught) {
      throw new AuditUnavailableError(toError(caught));
    }
  }

  /**
   * Newest first. `cursor` is the id of the last record of the previous page (exclusive).
   * Reads at most `scanMax` records per call; `nextCursor` is null once the range is done.
   */
  async query(filter: AuditFilter, page: { cursor?: string | undefined; limit: number; scanMax: number }): Promise<{ items: AuditRecord[]; nextCursor: string | null }> {
    const items: AuditRecord[] = [];
    let end = page.cursor !== undefined ? `(${page.cursor}` : filter.toMs !== undefined ? String(filter.toMs) : '+';
    const start = filter.fromMs !== undefined ? String(filter.fromMs) : '-';
    let scanned = 0;
    while (items.length < page.limit && scanned < page.scanMax) {
      const count = Math.min(CHUNK, page.scanMax - scanned);
      const chunk = (await this.redis.xrevrange(this.key, end, start, 'COUNT', count)) as [string, string[]][];
      for (const [id, fields] of chunk) {
        scanned += 1;
        end = `(${id}`;
        const record = fromStreamEntry(id, fields);
        if (matches(record, filter)) items.push(record);
        if (items.length >= page.limit) return { items, nextCursor: id };
      }
      if (chunk.length < count) return { items, nextCursor: null };
    }
    return { items, nextCursor: scanned === 0 ? null : end.slice(1) };
  }

  /** Oldest first, every matching record (at most `maxRecords`), handed to `write` chunk by chunk. */
  async export(filter: AuditFilter, maxRecords: number, write: (records: AuditRecord[]) => Promise<void>): Promise<number> {
    let start = filter.fromMs !== undefined ? String(filter.fromMs) : '-';
    const end = filter.toMs !== undefined ? String(filter.toMs) : '+';
    let written = 0;
    for (;;) {
      const chunk = (await this.redis.xrange(this.key, start, end, 'COUNT', CHUNK)) as [string, string[]][];
      const records = chunk.map(([id, fields]) => fromStreamEntry(id, fields)).filter((record) => matches(record, filter)).slice(0, maxRecords - written);
      if (records.length > 0) await write(records);
      written += records.length;
      if (chunk.length < CHUNK || written >= maxRecords) return written;
      start = `(${chunk.at(-1)![0]}`;
    }
  }
}
