/**
 * Stream entries written by foreign publishers with plain XADD: each bad entry ends in the DLQ
 * queue with its reason (`error.code`) and its raw fields, and is acknowledged; the valid
 * entry written after each bad one is handled (a recording handler sees it), acknowledged and
 * not dead-lettered.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { createRedis, REDIS_ROLES, type ParsedDeadLetterEntry, type Redis } from '@event-infra/shared';
import { silentLogger, waitFor } from '@event-infra/testing';
import { loadConfig } from '../../event-system/src/config';
import { startEventProcessor } from '../../event-system/src/service';
import { baseEnv, call, queueInspector } from './support';

const TIME = '2026-01-01T00:00:00.000Z';
const GOOD_DATA = JSON.stringify({ workspaceId: 'w1', name: 'Research', ownerId: 'u1' });

/** A valid entry's fields, with `overrides` replacing (or, when `undefined`, removing) fields. */
function entry(overrides: Record<string, string | Buffer | undefined> = {}): (string | Buffer)[] {
  const fields: Record<string, string | Buffer | undefined> = {
    id: randomUUID(),
    type: 'workspace.created',
    source: 'foreign-publisher',
    specversion: '1.0',
    time: TIME,
    data: GOOD_DATA,
    ...overrides,
  };
  return Object.entries(fields).flatMap(([name, value]) => (value === undefined ? [] : [name, value]));
}

interface StreamCase {
  name: string;
  fields: (string | Buffer)[];
  /** The InvalidEventError reason recorded as `error.code` of the DLQ entry. */
  reason: 'invalid_envelope' | 'unknown_family' | 'unknown_type' | 'invalid_data' | 'bad_json' | 'entry_too_large';
}

const cases: StreamCase[] = [
  { name: 'one field only', fields: ['hello', 'world'], reason: 'invalid_envelope' },
  { name: 'only data', fields: ['data', GOOD_DATA], reason: 'invalid_envelope' },
  { name: 'data not JSON', fields: entry({ data: '{"workspaceId": "w1",' }), reason: 'bad_json' },
  { name: 'data missing', fields: entry({ data: undefined }), reason: 'invalid_envelope' },
  { name: 'data a JSON array', fields: entry({ data: '[1,2,3]' }), reason: 'invalid_envelope' },
  { name: 'data a JSON string', fields: entry({ data: '"text"' }), reason: 'invalid_envelope' },
  { name: 'data JSON null', fields: entry({ data: 'null' }), reason: 'invalid_envelope' },
  { name: 'unknown family', fields: entry({ type: 'billing.charged' }), reason: 'unknown_family' },
  { name: 'unknown type of a known family', fields: entry({ type: 'workspace.exploded' }), reason: 'unknown_type' },
  { name: 'type not dotted lowercase', fields: entry({ type: 'WorkspaceCreated' }), reason: 'invalid_envelope' },
  { name: 'id not a uuid', fields: entry({ id: 'not-a-uuid' }), reason: 'invalid_envelope' },
  { name: 'time not ISO 8601', fields: entry({ time: 'yesterday' }), reason: 'invalid_envelope' },
  { name: 'time missing', fields: entry({ time: undefined }), reason: 'invalid_envelope' },
  { name: 'source missing', fields: entry({ source: undefined }), reason: 'invalid_envelope' },
  { name: 'specversion 2.0', fields: entry({ specversion: '2.0' }), reason: 'invalid_envelope' },
  { name: 'datacontenttype text/plain', fields: entry({ datacontenttype: 'text/plain' }), reason: 'invalid_envelope' },
  { name: 'dlqretries not a number', fields: entry({ dlqretries: 'many' }), reason: 'invalid_envelope' },
  { name: 'data invalid for its type', fields: entry({ data: JSON.stringify({ workspaceId: 'w1' }) }), reason: 'invalid_data' },
  { name: 'huge data (1 MB name)', fields: entry({ data: JSON.stringify({ workspaceId: 'w1', name: 'n'.repeat(1_000_000), ownerId: 'u1' }) }), reason: 'invalid_data' },
  { name: 'data nested 30,000 levels deep', fields: entry({ data: `{"workspaceId":"w1","name":"n","ownerId":"u1","x":${'['.repeat(30_000)}${']'.repeat(30_000)}}` }), reason: 'invalid_data' },
  { name: 'binary garbage in data', fields: entry({ data: Buffer.from([0xff, 0xfe, 0x00, 0x9c, 0x80, 0x7b]) }), reason: 'bad_json' },
  { name: 'binary garbage in type', fields: entry({ type: Buffer.from([0xc3, 0x28, 0xa0, 0xa1]) }), reason: 'invalid_envelope' },
  { name: 'control characters in type', fields: entry({ type: 'workspace.created\u0000\n' }), reason: 'invalid_envelope' },
  { name: 'duplicate field names (type twice)', fields: [...entry(), 'type', 'user.created'], reason: 'invalid_envelope' },
  { name: 'type empty (fails a DLQ name rule on main)', fields: entry({ type: '' }), reason: 'invalid_envelope' },
  { name: 'only an empty type and empty data', fields: ['type', '', 'data', ''], reason: 'bad_json' },
  { name: 'entry over EVENT_MAX_ENTRY_BYTES (2 MB data)', fields: entry({ data: JSON.stringify({ workspaceId: 'w1', name: 'n'.repeat(2_000_000), ownerId: 'u1' }) }), reason: 'entry_too_large' },
  { name: 'forged dlqretries that is not a count', fields: entry({ dlqretries: '-1', dlqentryid: 'job-x-1-0' }), reason: 'invalid_envelope' },
  { name: 'duplicate field names (same value twice)', fields: [...entry(), 'source', 'foreign-publisher'], reason: 'invalid_envelope' },
];

describe('event processor: foreign stream entries', () => {
  const env = baseEnv({ EVENT_BLOCK_MS: '200' });
  let processor: Awaited<ReturnType<typeof startEventProcessor>>;
  let streams: Redis;
  let inspector: ReturnType<typeof queueInspector>;
  const bad = new Map<string, StreamCase>();
  const good: string[] = [];
  const handled = new Set<string>();

  beforeAll(async () => {
    streams = createRedis({ url: inject('redis').streams, role: REDIS_ROLES.streams, profile: 'producer', logger: silentLogger() });
    inspector = queueInspector();
    // A recording handler: proof that each good entry was handled, not only acknowledged.
    processor = await startEventProcessor(loadConfig(env), silentLogger(), {
      configure: (router) =>
        router.on('workspace.created', 'bad-input-recorder', async (_event, context) => {
          handled.add(context.entryId);
        }),
    });
    // Bad, good, bad, good…: each good entry comes right after a bad one.
    for (const testCase of cases) {
      bad.set(String(await streams.xadd(env.STREAM_NAME!, '*', ...testCase.fields)), testCase);
      good.push(String(await streams.xadd(env.STREAM_NAME!, '*', ...entry())));
    }
  });

  afterAll(async () => {
    await processor?.close();
    await inspector?.close();
    streams?.disconnect();
  });

  it(`has at least 20 cases (${cases.length})`, () => {
    expect(cases.length).toBeGreaterThanOrEqual(20);
  });

  it('every bad entry is in the DLQ with its reason and raw fields; every entry is acknowledged; no good entry is in the DLQ', async () => {
    // Acknowledged: nothing pending, and the group has read up to the last entry. A bad entry
    // is dead-lettered before it is acknowledged, so every DLQ entry exists by then.
    await waitFor(
      async () => {
        const pending = (await streams.xpending(env.STREAM_NAME!, env.CONSUMER_GROUP!)) as [number, ...unknown[]];
        const groups = (await streams.xinfo('GROUPS', env.STREAM_NAME!)) as unknown[][];
        const ours = groups
          .map((fields) => Object.fromEntries(fields.flatMap((value, index) => (index % 2 === 0 ? [[value, fields[index + 1]]] : []))))
          .find((info) => info.name === env.CONSUMER_GROUP);
        return pending[0] === 0 && ours?.['last-delivered-id'] === good.at(-1);
      },
      'every entry acknowledged',
      { timeoutMs: 20_000 },
    );
    const jobs = await inspector.queue(env.DLQ_QUEUE_NAME!).getJobs(['waiting', 'prioritized', 'delayed', 'active', 'completed', 'failed'], 0, -1);
    const byEntryId = new Map(
      jobs.map((job) => {
        const dead = job.data as ParsedDeadLetterEntry;
        return [dead.origin.kind === 'event' ? dead.origin.entryId : '', dead] as const;
      }),
    );
    const outcomes = [...bad].map(([entryId, testCase]) => {
      const dead = byEntryId.get(entryId);
      return { name: testCase.name, reason: dead?.error.code, kind: dead?.kind, hasFields: dead?.origin.kind === 'event' && dead.origin.fields !== undefined };
    });
    expect(outcomes).toEqual([...bad.values()].map((testCase) => ({ name: testCase.name, reason: testCase.reason, kind: 'event', hasFields: true })));
    for (const entryId of good) expect(byEntryId.has(entryId), `good entry ${entryId} dead-lettered`).toBe(false);
    expect(good.filter((entryId) => !handled.has(entryId))).toEqual([]);
    expect([...bad.keys()].filter((entryId) => handled.has(entryId))).toEqual([]);
    expect(jobs.length).toBe(cases.length);
    expect((await call(processor.url, { path: '/health', auth: false })).status).toBe(200);
  });

  it('binary fields are stored without loss: bytes that are not UTF-8 in base64, their indexes listed', async () => {
    const jobs = await inspector.queue(env.DLQ_QUEUE_NAME!).getJobs(['waiting', 'prioritized', 'delayed', 'active', 'completed', 'failed'], 0, -1);
    let checked = 0;
    for (const [entryId, testCase] of bad) {
      const binary = testCase.fields.map((field, index) => [field, index] as const).filter(([field]) => Buffer.isBuffer(field));
      if (binary.length === 0) continue;
      const dead = jobs.map((job) => job.data as ParsedDeadLetterEntry).find((item) => item.origin.kind === 'event' && item.origin.entryId === entryId);
      expect(dead?.origin.kind, testCase.name).toBe('event');
      if (dead?.origin.kind !== 'event') continue;
      for (const [field, index] of binary) {
        expect(dead.origin.base64Fields, testCase.name).toContain(index);
        expect(Buffer.from(dead.origin.fields![index]!, 'base64').equals(field as Buffer), testCase.name).toBe(true);
        checked += 1;
      }
    }
    expect(checked).toBeGreaterThanOrEqual(2);
  });
});
