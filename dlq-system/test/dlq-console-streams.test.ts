import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { encodeEvent, createEvent } from '@event-infra/shared';
import { testPrincipals, uniqueName, waitFor, type TestPrincipal } from '@event-infra/testing';
import { startDlqFixture, type DlqFixture } from './support/dlq-harness';

describe('console stream tools and overview (real Redis, real HTTP)', () => {
  let fx: DlqFixture;
  let streams: Redis;
  let principals: Awaited<ReturnType<typeof testPrincipals>>;
  const stream = uniqueName('console-stream');
  const group = 'console-group';
  const ids: string[] = [];
  const as = async (who: TestPrincipal, method: string, path: string) => {
    const response = await fetch(`${fx.processor.url}${path}`, { method, headers: { authorization: who.authorization } });
    const text = await response.text();
    return { status: response.status, body: text === '' ? undefined : JSON.parse(text) };
  };

  beforeAll(async () => {
    principals = await testPrincipals();
    fx = await startDlqFixture({ STREAM_NAME: stream, STREAM_RETENTION_MS: '86400000', DLQ_MAX_RETRIES: '0', ...principals.env });
    streams = new Redis(fx.env.REDIS_STREAMS_URL!);
    await streams.xgroup('CREATE', stream, group, '0', 'MKSTREAM');
    for (let i = 0; i < 3; i += 1) {
      const event = createEvent({ type: 'workspace.created', data: { workspaceId: `w${i}`, name: `W ${i}`, ownerId: 'u1' } }, 'test');
      ids.push((await streams.xadd(stream, '*', ...encodeEvent(event)))!);
    }
    ids.push((await streams.xadd(stream, '*', 'type', '', 'junk', 'x'))!);
    ids.push((await streams.xadd(stream, '*', 'type', 'never.read'))!);
    // A consumer reads four entries and never acknowledges them; the fifth stays undelivered.
    await streams.xreadgroup('GROUP', group, 'stuck-consumer', 'COUNT', 4, 'STREAMS', stream, '>');
  });
  afterAll(async () => {
    await streams?.del(stream);
    streams?.disconnect();
    await fx?.close();
  });

  it('shows each group: pending, lag in entries and in time, oldest pending, consumers with idle time', async () => {
    const { status, body } = await as(principals.keys.viewer, 'GET', '/streams/groups');
    expect(status).toBe(200);
    const [view] = body.streams;
    expect(view).toMatchObject({ name: stream, length: 5, firstId: ids[0], lastId: ids[4] });
    const [info] = view.groups;
    expect(info).toMatchObject({ name: group, stream, pending: 4, lag: 1, lastDeliveredId: ids[3] });
    expect(info.oldestUndeliveredAgeMs).toBeGreaterThanOrEqual(0);
    expect(info.oldestPendingAgeMs).toBeGreaterThanOrEqual(info.oldestPendingIdleMs);
    expect(info.consumers).toEqual([expect.objectContaining({ name: 'stuck-consumer', pending: 4, idleMs: expect.any(Number) })]);
  });

  it('pages through the pending entries with a cursor (consumer, idle, deliveries)', async () => {
    const first = await as(principals.keys.viewer, 'GET', `/streams/groups/${group}/pending?limit=3`);
    expect(first.body.items.map((item: any) => item.id)).toEqual(ids.slice(0, 3));
    expect(first.body.items[0]).toMatchObject({ consumer: 'stuck-consumer', deliveries: 1, idleMs: expect.any(Number) });
    const next = await as(principals.keys.viewer, 'GET', `/streams/groups/${group}/pending?limit=3&cursor=${first.body.nextCursor}`);
    expect(next.body.items.map((item: any) => item.id)).toEqual([ids[3]]);
    expect(next.body.nextCursor).toBeNull();
    expect((await as(principals.keys.viewer, 'GET', `/streams/groups/${group}/pending?consumer=someone-else`)).body.items).toEqual([]);
    expect((await as(principals.keys.viewer, 'GET', '/streams/groups/no-such-group/pending')).status).toBe(404);
    expect((await as(principals.keys.viewer, 'GET', `/streams/groups/${group}/pending?stream=other`)).status).toBe(404);
    expect((await as(principals.keys.viewer, 'GET', `/streams/groups/${group}/pending?cursor=nope`)).status).toBe(400);
  });

  it('dead-letters a stuck pending entry now: a DLQ entry through the normal path, XACKed, idempotent, audited', async () => {
    expect((await as(principals.keys.viewer, 'POST', `/streams/groups/${group}/pending/${ids[0]}/dead-letter`)).status).toBe(403);
    const done = await as(principals.users.operator, 'POST', `/streams/groups/${group}/pending/${ids[0]}/dead-letter`);
    expect(done.status).toBe(202);
    expect(done.body).toMatchObject({ id: ids[0], deadLettered: true });
    const entry = await waitFor(async () => {
      const { body } = await as(principals.keys.viewer, 'GET', `/dlq/${done.body.dlqJobId}`);
      return body?.status === 'parked' ? body : undefined;
    }, 'the DLQ entry parked');
    expect(entry).toMatchObject({ kind: 'event', name: 'workspace.created', classification: 'permanent', origin: { stream, group, entryId: ids[0] } });
    expect(entry.error.message).toBe('dead-lettered by operator operator-person');
    expect(await streams.xpending(stream, group, ids[0]!, ids[0]!, 1)).toEqual([]);

    const again = await as(principals.users.operator, 'POST', `/streams/groups/${group}/pending/${ids[0]}/dead-letter`);
    expect(again).toMatchObject({ status: 200, body: { deadLettered: false, reason: 'not pending' } });
    const invalid = await as(principals.users.operator, 'POST', `/streams/groups/${group}/pending/${ids[3]}/dead-letter`);
    expect(invalid.status).toBe(202);
    await waitFor(async () => (await as(principals.keys.viewer, 'GET', `/dlq/${invalid.body.dlqJobId}`)).body?.name === '(invalid)', 'the invalid entry in the DLQ');

    const records = (await as(principals.keys.viewer, 'GET', '/audit?action=stream.dead-letter')).body.items;
    expect(records.map((r: any) => r.target)).toContain(`${stream}/${group}/${ids[0]}`);
    expect(records[0]).toMatchObject({ principal: 'operator-person', outcome: 'attempted' });
    expect((await as(principals.users.operator, 'POST', `/streams/groups/no-such-group/pending/${ids[1]}/dead-letter`)).status).toBe(404);
  });

  it('answers the overview: queues with a throughput series, the stream and its retention, DLQ totals, recent alerts', async () => {
    const { status, body } = await as(principals.keys.viewer, 'GET', '/overview');
    expect(status).toBe(200);
    const dlqQueue = body.queues.find((queue: any) => queue.name === fx.dlqQueueName);
    expect(dlqQueue.throughput).toHaveLength(60);
    // The DLQ consumer completed the two dead-letter jobs of the previous test within the hour.
    expect(dlqQueue.throughput.reduce((sum: number, point: any) => sum + point.completed, 0)).toBeGreaterThanOrEqual(2);
    expect(dlqQueue.counts).toMatchObject({ completed: expect.any(Number), waiting: expect.any(Number) });
    expect(body.stream.retention).toMatchObject({ maxAgeMs: 86_400_000, maxLen: 0 });
    expect(body.stream.streams[0].groups[0]).toMatchObject({ name: group, pending: 2 });
    expect(body.dlq.byKind.event).toBeGreaterThanOrEqual(2);
    expect(body.dlq.byOrigin[stream]).toBe(2);
    expect(body.dlq.byStatus.parked).toBeGreaterThanOrEqual(2);
    expect(body.alerts.some((alert: any) => alert.origin === stream)).toBe(true);
    expect((await as(principals.keys.publisher, 'GET', '/overview')).status).toBe(403);
  });
});
