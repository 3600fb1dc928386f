import { EVENT_TYPES, type EventInput, type EventType } from '@event-infra/shared';

/**
 * A valid `data` object for every known event type (the record type makes a new type in
 * `EVENT_SCHEMAS` a compile error here until it has a sample). Tests of every service use
 * these rather than inventing their own.
 */
export const SAMPLE_EVENT_DATA: { readonly [T in EventType]: Record<string, unknown> } = {
  'user.created': { userId: 'u1', email: 'ada@example.com', name: 'Ada' },
  'user.updated': { userId: 'u1', changes: { name: 'Ada L.' } },
  'user.deleted': { userId: 'u1' },
  'user.verified': { userId: 'u1', email: 'ada@example.com' },
  'workspace.created': { workspaceId: 'w1', name: 'Research', ownerId: 'u1' },
  'workspace.updated': { workspaceId: 'w1', changes: { name: 'R&D' } },
  'workspace.deleted': { workspaceId: 'w1' },
  'workspace.member.added': { workspaceId: 'w1', userId: 'u2', role: 'editor' },
  'workspace.member.removed': { workspaceId: 'w1', userId: 'u2' },
  'auth.login': { userId: 'u1', method: 'password', ip: '10.0.0.1' },
  'auth.login.failed': { email: 'ada@example.com', reason: 'bad password' },
  'auth.logout': { userId: 'u1', sessionId: 's1' },
  'auth.session.created': { userId: 'u1', sessionId: 's1', expiresAt: '2030-01-01T00:00:00.000Z' },
  'auth.session.refreshed': { userId: 'u1', sessionId: 's1', expiresAt: '2030-01-01T01:00:00+01:00' },
  'auth.session.expired': { userId: 'u1', sessionId: 's1' },
  'auth.session.revoked': { userId: 'u1', sessionId: 's1', reason: 'password changed' },
  'airtable.record.created': { baseId: 'app1', tableId: 'tbl1', recordId: 'rec1', fields: { Name: 'x' } },
  'airtable.record.updated': { baseId: 'app1', tableId: 'tbl1', recordId: 'rec1', fields: { Name: 'y' } },
  'airtable.record.deleted': { baseId: 'app1', tableId: 'tbl1', recordId: 'rec1' },
  'airtable.sync.started': { baseId: 'app1', syncId: 'sync1' },
  'airtable.sync.completed': { baseId: 'app1', syncId: 'sync1', recordCount: 42 },
  'airtable.sync.failed': { baseId: 'app1', syncId: 'sync1', error: 'rate limited' },
  'airtable.webhook.received': { baseId: 'app1', webhookId: 'ach1', payload: { cursor: 3 } },
  'job.created': { queue: 'async-processing', jobId: '1', name: 'demo.sleep' },
  'job.started': { queue: 'async-processing', jobId: '1', name: 'demo.sleep', attempt: 1 },
  'job.progress': { queue: 'async-processing', jobId: '1', name: 'demo.sleep', progress: 50 },
  'job.completed': { queue: 'async-processing', jobId: '1', name: 'demo.sleep', durationMs: 12, attempts: 1 },
  'job.failed': { queue: 'async-processing', jobId: '1', name: 'demo.fail', error: 'boom', attempt: 1, willRetry: true },
  'job.dead-lettered': { queue: 'async-processing', jobId: '1', name: 'demo.fail', error: 'boom', attempts: 3 },
  'job.retried': { queue: 'async-processing', jobId: '1', name: 'demo.fail', dlqEntryId: 'd1' },
  'job.cancelled': { queue: 'async-processing', jobId: '1', name: 'demo.sleep' },
};

/** A valid publisher input of `type` (default `workspace.created`) with its sample data. */
export function sampleEventInput(type: EventType = EVENT_TYPES['workspace.created'], overrides: Partial<EventInput> = {}): EventInput {
  return { type, data: { ...SAMPLE_EVENT_DATA[type] }, ...overrides };
}
