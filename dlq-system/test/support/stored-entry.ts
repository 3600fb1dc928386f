import type { StoredEntry } from '../../src/core/stored-entry';

/**
 * A stored DLQ entry of a job on queue `origin` (default `q`), created now, for tests that
 * write the store directly; `extra` overrides any field.
 */
export function storedEntry(id: string, extra: Partial<StoredEntry> & { origin?: StoredEntry['origin'] } = {}, queue = 'q'): StoredEntry {
  const at = new Date().toISOString();
  return {
    id,
    kind: 'job',
    origin: { kind: 'job', queue, jobId: id },
    originName: queue,
    name: 'demo.fail',
    data: {},
    error: { message: 'x' },
    attempts: 1,
    firstFailedAt: at,
    lastFailedAt: at,
    classification: 'transient',
    rule: 'default',
    reason: 'r',
    status: 'parked',
    version: 0,
    retries: 0,
    failures: 1,
    createdAt: at,
    updatedAt: at,
    history: [],
    lastSource: id,
    ...extra,
  };
}
