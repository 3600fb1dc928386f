import type { DlqStore } from '../../src/core/dlq-store';
import type { EntryStatus, StoredEntry } from '../../src/core/stored-entry';

export interface StoredEntrySpec {
  id: string;
  /** The origin queue (a job) or stream (an event); default `q`. */
  origin?: string;
  /** Default `parked`. */
  status?: EntryStatus;
  /** Default `job`. */
  kind?: 'job' | 'event';
  /** Default `demo.fail` for a job, `workspace.created` for an event. */
  name?: string;
  /** The error message; default `invalid input`. */
  message?: string;
  /** Default `permanent`. */
  classification?: 'transient' | 'permanent';
  /** When the entry was created (epoch ms); default now. */
  createdAtMs?: number;
  /** An event's subject; default none. */
  subject?: string;
  /** Default `{ message: 'boom' }` for a job, a `workspace.created` envelope for an event. */
  data?: unknown;
}

/**
 * A stored entry as the handler's `receive` writes it (job or event origin), at version 1;
 * `overrides` replaces any field afterwards (a version, retries, a correlation, an origin).
 */
export function storedEntry(spec: StoredEntrySpec, overrides: Partial<StoredEntry> = {}): StoredEntry {
  const at = new Date(spec.createdAtMs ?? Date.now()).toISOString();
  const origin = spec.origin ?? 'q';
  const kind = spec.kind ?? 'job';
  const name = spec.name ?? (kind === 'job' ? 'demo.fail' : 'workspace.created');
  const jobId = spec.id.replace(/[^A-Za-z0-9_-]/g, '_');
  return {
    id: spec.id,
    kind,
    origin: kind === 'job' ? { kind: 'job', queue: origin, jobId, opts: { attempts: 1 } } : { kind: 'event', stream: origin, group: 'g', entryId: '1-0', eventId: spec.id },
    originName: origin,
    name,
    data:
      spec.data ??
      (kind === 'job'
        ? { message: 'boom' }
        : { id: '3b241101-e2bb-4255-8caf-4136c566a962', type: name, source: 'test', time: at, specversion: '1.0', ...(spec.subject !== undefined ? { subject: spec.subject } : {}), data: {} }),
    error: { message: spec.message ?? 'invalid input', name: 'PermanentJobError', permanent: true },
    attempts: 1,
    firstFailedAt: at,
    lastFailedAt: at,
    classification: spec.classification ?? 'permanent',
    rule: 'permanent-marker',
    reason: 'permanent',
    status: spec.status ?? 'parked',
    version: 1,
    retries: 0,
    failures: 1,
    createdAt: at,
    updatedAt: at,
    history: [],
    lastSource: spec.id,
    ...overrides,
  };
}

/**
 * Stores entries through the store's transition (from `new`, as `receive` does), `concurrency`
 * at a time on one connection (the commands are pipelined on the wire).
 */
export async function putEntries(store: DlqStore, entries: readonly StoredEntry[], concurrency = 500): Promise<void> {
  for (let at = 0; at < entries.length; at += concurrency) {
    await Promise.all(
      entries.slice(at, at + concurrency).map(async (entry) => {
        const result = await store.transition({ id: entry.id, entry, from: ['new'], to: entry.status, expectedVersion: 0, token: entry.status === 'parked' ? 'a'.repeat(32) : '-', counters: ['received', entry.status] });
        if (!result.ok) throw new Error(`could not store ${entry.id}`);
      }),
    );
  }
}
