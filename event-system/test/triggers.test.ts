import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createEvent, EVENT_CHANNEL_PATTERN, QUEUES, eventChannel, type Redis } from '@event-infra/shared';
import { waitFor } from '@event-infra/testing';
import { loadTriggersFile, triggerJobData, triggerJobId, triggerSchema } from '../src/core/triggers';
import { useTestResources, pendingCount, queueJobs, startTestProcessor, testEnv, testPublisher, userEvent, workspaceCreated } from './helpers';

const dir = mkdtempSync(join(tmpdir(), 'triggers-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const { open, client } = useTestResources();

function writeTriggers(name: string, triggers: unknown[]): string {
  const path = join(dir, `${name}.json`);
  writeFileSync(path, JSON.stringify({ triggers }));
  return path;
}

describe('triggers file', () => {
  it('builds job data from the include base, the field map and constants', () => {
    const event = createEvent(workspaceCreated('x'), 'test');
    const trigger = triggerSchema.parse({ name: 't1', on: 'workspace.*', job: 'demo.sleep', include: 'none', map: { ws: 'data.workspaceId', eventId: 'id', nope: 'data.missing' }, data: { durationMs: 5 } });
    expect(triggerJobData(trigger, event)).toEqual({ ws: 'ws-x', eventId: event.id, durationMs: 5 });
    expect(triggerJobData(triggerSchema.parse({ name: 't2', on: '*', job: 'j' }), event)).toEqual(event.data);
    expect(triggerJobData(triggerSchema.parse({ name: 't3', on: '*', job: 'j', include: 'event' }), event)).toMatchObject({ id: event.id, type: event.type });
    expect(triggerJobId(trigger, event)).toBe(`evt-t1-${event.id}`);
  });

  it('rejects a bad file with a message naming the file and the problem', () => {
    const path = writeTriggers('bad', [{ name: 'Bad Name', on: '*', job: 'x' }]);
    expect(() => loadTriggersFile(path)).toThrow(/bad\.json: triggers\.0\.name/);
    expect(() => loadTriggersFile(join(dir, 'missing.json'))).toThrow(/missing\.json/);
    const dup = writeTriggers('dup', [{ name: 'a', on: '*', job: 'x' }, { name: 'a', on: '*', job: 'y' }]);
    expect(() => loadTriggersFile(dup)).toThrow(/duplicate trigger name/);
  });

  it('ships an example file that maps workspace.created to demo.sleep', () => {
    const [trigger] = loadTriggersFile(new URL('../triggers.example.json', import.meta.url).pathname);
    expect(trigger).toMatchObject({ on: 'workspace.created', job: 'demo.sleep' });
  });
});

describe('trigger and fan-out handlers', () => {
  it('creates one job per event even when the event is delivered twice', async () => {
    const path = writeTriggers('once', [{ name: 'welcome', on: 'workspace.created', job: 'demo.sleep', include: 'none', map: { workspaceId: 'data.workspaceId' }, data: { durationMs: 10 } }]);
    // Duplicate suppression off, and a handler after the trigger that fails the first time:
    // the trigger runs on every delivery (3 here), the job id keeps it at one job.
    const env = testEnv({ EVENT_TRIGGERS_FILE: path, EVENT_DEDUPE_ENABLED: 'false', EVENT_CLAIM_IDLE_MS: '200' });
    let failures = 1;
    const runs: string[] = [];
    const processor = await startTestProcessor(env, (router) =>
      router.on('workspace.created', 'flaky', async (event) => {
        runs.push(event.id);
        if (failures-- > 0) throw new Error('flaky');
      }),
    );
    open.push(processor);
    const streams = client('streams');
    const publisher = testPublisher(streams, env.STREAM_NAME!);
    const event = createEvent(workspaceCreated('t'), 'test');
    await publisher.publishEnvelope(event);
    await waitFor(() => runs.length === 2, 'redelivery after the failure');
    await publisher.publishEnvelope(event);
    await waitFor(() => runs.length === 3, 'second publish of the same event');
    await waitFor(async () => (await pendingCount(streams, env.STREAM_NAME!, env.CONSUMER_GROUP!)) === 0, 'all acknowledged');
    const jobs = (await queueJobs(client('queue'), QUEUES.eventDriven)).filter((job) => job.id?.includes(event.id));
    expect(jobs).toHaveLength(1);
    expect(jobs[0]).toMatchObject({ id: `evt-welcome-${event.id}`, name: 'demo.sleep', data: { workspaceId: 'ws-t', durationMs: 10 } });
  });

  it('publishes each processed event on its per-type channel on the master', async () => {
    const env = testEnv({ EVENT_FANOUT_ENABLED: 'true' });
    const subscriber = client('master');
    const received: { channel: string; message: string }[] = [];
    subscriber.on('pmessage', (_pattern: string, channel: string, message: string) => received.push({ channel, message }));
    await subscriber.psubscribe(EVENT_CHANNEL_PATTERN);
    const processor = await startTestProcessor(env);
    open.push(processor);
    const published = await testPublisher(client('streams'), env.STREAM_NAME!).publish(workspaceCreated('f'));
    const hit = await waitFor(() => received.find((item) => item.message.includes(published.id)), 'the fanned-out event');
    expect(hit.channel).toBe(eventChannel('workspace.created'));
    expect(JSON.parse(hit.message)).toMatchObject({ id: published.id, type: 'workspace.created', data: { workspaceId: 'ws-f' } });
  });

  it('fans a batch of mixed types out in stream order, each on its own channel', async () => {
    const env = testEnv({ EVENT_FANOUT_ENABLED: 'true', EVENT_BATCH_SIZE: '50' });
    const subscriber = client('master');
    const received: { channel: string; id: string }[] = [];
    subscriber.on('pmessage', (_pattern: string, channel: string, message: string) => received.push({ channel, id: (JSON.parse(message) as { id: string }).id }));
    await subscriber.psubscribe(EVENT_CHANNEL_PATTERN);
    const inputs = Array.from({ length: 120 }, (_, index) => (index % 3 === 0 ? userEvent() : workspaceCreated(`o${index}`)));
    // Published before the processor starts: it reads them in full batches.
    const published = await testPublisher(client('streams'), env.STREAM_NAME!).publishBatch(inputs);
    const processor = await startTestProcessor(env);
    open.push(processor);
    // Only this test's events: other files' processors fan out on the same master meanwhile.
    const ours = new Set(published.map((event) => event.id));
    const own = () => received.filter((item) => ours.has(item.id));
    await waitFor(() => own().length >= published.length, 'every event fanned out');
    expect(own().map((item) => item.id)).toEqual(published.map((event) => event.id));
    expect(own().map((item) => item.channel)).toEqual(published.map((event) => eventChannel(event.type)));
  });
});
