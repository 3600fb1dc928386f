import { describe, expect, it } from 'vitest';
import { AUDIT_STREAM, eventChannel, type EventEnvelope } from '@event-infra/shared';
import { testPrincipals, uniqueName, waitFor } from '@event-infra/testing';
import type { HandlerContext } from '../src/core/router';
import { startTestProcessor, testEnv, testPublisher, useTestResources, userEvent, workspaceCreated, type TestProcessor } from './helpers';

const { open, client } = useTestResources();

interface Delivery {
  eventId: string;
  entryId: string;
  replay: string | undefined;
}

async function start(env: Record<string, string>, deliveries: Delivery[]): Promise<TestProcessor> {
  const processor = await startTestProcessor(env, (router) =>
    router.on('*', 'record', async (event: EventEnvelope, context: HandlerContext) => {
      deliveries.push({ eventId: event.id, entryId: context.entryId, replay: context.replay?.taskId });
    }),
  );
  open.push(processor);
  return processor;
}

async function post(url: string, body: unknown): Promise<{ status: number; body: any }> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: response.status, body: await response.json() };
}

async function task(processor: TestProcessor, id: string): Promise<any> {
  return (await fetch(`${processor.url}/replay/${id}`)).json();
}

describe('replay (POST /replay)', () => {
  it('replays a range to the live handlers: duplicate suppression bypassed, deliveries and fan-out marked, type pattern applied', async () => {
    const env = testEnv({ EVENT_FANOUT_ENABLED: 'true', REPLAY_POLL_MS: '50' });
    const deliveries: Delivery[] = [];
    const processor = await start(env, deliveries);
    const streams = client('streams');
    const subscriber = client('master');
    const fannedOut: any[] = [];
    subscriber.on('message', (_channel: string, message: string) => fannedOut.push(JSON.parse(message)));
    await subscriber.subscribe(eventChannel('workspace.created'));
    const publisher = testPublisher(streams, env.STREAM_NAME!);
    const early = await publisher.publishBatch([workspaceCreated('early'), userEvent()]);
    const published = await publisher.publishBatch([...Array.from({ length: 20 }, (_, i) => workspaceCreated(`w${i}`)), userEvent()]);
    await waitFor(() => deliveries.length === 23, 'live deliveries');
    const firstEntry = (await streams.xrange(env.STREAM_NAME!, '-', '+'))[2]![0];

    const created = await post(`${processor.url}/replay`, { from: firstEntry, types: 'workspace.*', target: 'handlers', ratePerSec: 2000 });
    expect(created.status).toBe(202);
    expect(created.body).toMatchObject({ state: 'running', version: 1, types: 'workspace.*', target: { kind: 'handlers' }, from: firstEntry });
    const done = await waitFor(async () => {
      const body = await task(processor, created.body.id);
      return body.state === 'completed' ? body : undefined;
    }, 'replay completed');
    expect(done).toMatchObject({ handled: 20, skipped: 1, failed: 0, invalid: 0, inflight: null, uncertain: [], owner: null });

    const replayed = deliveries.filter((d) => d.replay !== undefined);
    expect(replayed.every((d) => d.replay === created.body.id)).toBe(true);
    // Each workspace event of the range once more, in stream order; nothing before `from`, no user event.
    expect(replayed.map((d) => d.eventId)).toEqual(published.slice(0, 20).map((event) => event.id));
    expect(replayed.some((d) => d.eventId === early[0]!.id)).toBe(false);
    // Only this test's events: other files' processors fan out on the same master meanwhile.
    const ours = new Set([...early, ...published].map((event) => event.id));
    const marked = await waitFor(() => {
      const own = fannedOut.filter((m) => ours.has(m.id));
      return own.filter((m) => m.replay !== undefined).length === 20 ? own : undefined;
    }, 'replayed fan-out');
    expect(marked.filter((m) => m.replay === undefined)).toHaveLength(21);
    expect(marked.find((m) => m.replay !== undefined)).toMatchObject({ type: 'workspace.created', replay: { taskId: created.body.id } });
    // A live delivery carries no marker, and a client cannot set one: the envelope has no such attribute.
    expect(marked.find((m) => m.replay === undefined)).not.toHaveProperty('replay');
  });

  it('creates a new consumer group at a point in time; an existing group, or ours, is a 409', async () => {
    const env = testEnv();
    const deliveries: Delivery[] = [];
    const processor = await start(env, deliveries);
    const streams = client('streams');
    const publisher = testPublisher(streams, env.STREAM_NAME!);
    await publisher.publishBatch(Array.from({ length: 5 }, (_, i) => workspaceCreated(`old${i}`)));
    const oldest = (await streams.xrevrange(env.STREAM_NAME!, '+', '-', 'COUNT', 1))[0]![0];
    // The next millisecond on: a time that falls after every old entry.
    const fromMs = Number(oldest.split('-')[0]) + 1;
    await waitFor(async () => Date.now() > fromMs + 1, 'clock past the old entries');
    const later = await publisher.publishBatch(Array.from({ length: 7 }, (_, i) => workspaceCreated(`new${i}`)));
    const group = uniqueName('audit');

    const created = await post(`${processor.url}/replay`, { from: new Date(fromMs).toISOString(), target: 'group', group });
    expect(created.status).toBe(202);
    expect(created.body).toMatchObject({ state: 'completed', target: { kind: 'group', group } });
    const read = (await streams.xreadgroup('GROUP', group, 'c1', 'COUNT', 100, 'STREAMS', env.STREAM_NAME!, '>')) as [string, [string, string[]][]][];
    const ids = read[0]![1].map(([, fields]) => fields[fields.indexOf('id') + 1]);
    expect(ids).toEqual(later.map((event) => event.id));
    expect((await task(processor, created.body.id)).groups).toEqual([{ stream: env.STREAM_NAME, lag: 0, pending: 7, lastDeliveredId: expect.any(String) }]);

    expect((await post(`${processor.url}/replay`, { from: '0-0', target: 'group', group })).status).toBe(409);
    expect((await post(`${processor.url}/replay`, { from: '0-0', target: 'group', group: env.CONSUMER_GROUP })).status).toBe(409);
  });

  it('cancels a running replay: it stops, a second cancel is a 409', async () => {
    const env = testEnv({ REPLAY_POLL_MS: '50' });
    const deliveries: Delivery[] = [];
    const processor = await start(env, deliveries);
    const streams = client('streams');
    await testPublisher(streams, env.STREAM_NAME!).publishBatch(Array.from({ length: 200 }, (_, i) => workspaceCreated(`c${i}`)));
    await waitFor(() => deliveries.length === 200, 'live deliveries');
    const created = await post(`${processor.url}/replay`, { from: '0-0', target: 'handlers', ratePerSec: 20 });
    await waitFor(() => deliveries.filter((d) => d.replay).length >= 3, 'replay under way');

    const cancelled = await post(`${processor.url}/replay/${created.body.id}/cancel`, {});
    // Counted once the cancel is stored (not at the 3 above: a loaded machine may answer the
    // cancel a while later, and the runner goes on at its rate until then).
    const atCancel = deliveries.filter((d) => d.replay).length;
    expect(cancelled.status).toBe(200);
    expect(cancelled.body).toMatchObject({ state: 'cancelled' });
    await waitFor(() => processor.replay.active === null, 'runner stopped');
    const replayedCount = deliveries.filter((d) => d.replay).length;
    // At most the batch in hand (a second of work at 20/s) after the cancel, far from all 200.
    expect(replayedCount).toBeLessThan(atCancel + 21);
    expect(replayedCount).toBeLessThan(200);
    expect((await post(`${processor.url}/replay/${created.body.id}/cancel`, {})).status).toBe(409);
    expect((await task(processor, created.body.id)).state).toBe('cancelled');
  });

  it('refuses bad requests with a 400 naming the field, and unknown tasks with a 404', async () => {
    const env = testEnv();
    const processor = await start(env, []);
    for (const [body, field] of [
      [{ target: 'handlers' }, 'from'],
      [{ from: 'yesterday', target: 'handlers' }, 'from'],
      [{ from: '0-0', target: 'handlers', ratePerSec: 10_000_000 }, 'ratePerSec'],
      [{ from: '0-0', target: 'group' }, 'group'],
      [{ from: '0-0', target: 'group', group: 'has space' }, 'group'],
      [{ from: '0-0', target: 'handlers', types: 'Bad Type' }, 'types'],
      [{ from: '0-0', target: 'handlers', owner: 'me' }, '(body)'],
    ] as const) {
      const response = await post(`${processor.url}/replay`, body);
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect(response.body.message).toContain(field);
    }
    expect((await fetch(`${processor.url}/replay/00000000-0000-4000-8000-000000000000`)).status).toBe(404);
    expect((await fetch(`${processor.url}/replay/not-a-uuid`)).status).toBe(400);
  });

  it('needs the API key when one is set', async () => {
    const env = testEnv({ API_KEY: 'replay-test-key-0123456789' });
    const processor = await start(env, []);
    expect((await post(`${processor.url}/replay`, { from: '0-0', target: 'handlers' })).status).toBe(401);
    expect((await fetch(`${processor.url}/replay`)).status).toBe(401);
    const ok = await fetch(`${processor.url}/replay`, { headers: { authorization: 'Bearer replay-test-key-0123456789' } });
    expect(ok.status).toBe(200);
  });

  it('roles: a viewer reads replays but may not start or cancel one; an operator may, and each action is audited', async () => {
    const principals = await testPrincipals();
    const env = testEnv({ ...principals.env, REPLAY_POLL_MS: '50' });
    const processor = await start(env, []);
    const as = (who: { authorization: string }) => ({ authorization: who.authorization, 'content-type': 'application/json' });
    const body = JSON.stringify({ from: '0-0', target: 'handlers' });
    expect((await fetch(`${processor.url}/replay`, { headers: as(principals.keys.viewer) })).status).toBe(200);
    expect((await fetch(`${processor.url}/replay`, { method: 'POST', headers: as(principals.keys.viewer), body })).status).toBe(403);
    expect((await fetch(`${processor.url}/replay`, { method: 'POST', headers: as(principals.keys.publisher), body })).status).toBe(403);

    const created = await fetch(`${processor.url}/replay`, { method: 'POST', headers: as(principals.keys.operator), body });
    expect(created.status).toBe(202);
    const { id } = (await created.json()) as { id: string };
    const refused = await fetch(`${processor.url}/replay/${id}/cancel`, { method: 'POST', headers: as(principals.keys.viewer) });
    expect(refused.status).toBe(403);
    const cancel = await fetch(`${processor.url}/replay/${id}/cancel`, { method: 'POST', headers: as(principals.keys.operator) });
    expect([200, 409]).toContain(cancel.status); // 409 when the (empty) replay completed first

    const records = (await client('master').xrange(AUDIT_STREAM, '-', '+')).map(([, fields]) => {
      const record: Record<string, string> = {};
      for (let i = 0; i < fields.length; i += 2) record[fields[i]!] = fields[i + 1]!;
      return record;
    });
    const mine = records.filter((record) => record.principal === 'operator-svc' && record.action?.startsWith('replay.'));
    expect(mine.find((record) => record.action === 'replay.create')).toMatchObject({ role: 'operator', target: env.STREAM_NAME, outcome: 'attempted' });
    expect(mine.find((record) => record.action === 'replay.cancel')).toMatchObject({ role: 'operator', target: `replay/${id}` });
    // Refused calls change nothing and write no action record.
    expect(records.filter((record) => record.principal === 'viewer-svc' && record.action?.startsWith('replay.'))).toEqual([]);
  });
});
