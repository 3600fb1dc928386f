/**
 * Recovery of dead events is proven, not inferred (issue #10): only the event processor's
 * durable "retry handled" record with the entry's token marks an event entry recovered, with
 * fan-out off and across a restart of the DLQ processor; forged `dlqentryid`s count for
 * nothing; a poison entry is dead-lettered and acknowledged and the trim point passes it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue } from 'bullmq';
import { bullPrefix, REDIS_ROLES, SERVICES, createEvent, createRedis, dlqHandledKey, encodeEvent, type EventEnvelope, type Redis } from '@event-infra/shared';
import { silentLogger, uniqueName, waitFor } from '@event-infra/testing';
import { loadConfig as loadEventConfig } from '../../event-system/src/config';
import { compareStreamIds } from '../../event-system/src/core/stream-replies';
import { startEventProcessor, type EventProcessor } from '../../event-system/src/service';
import { jobEntry, startDlqFixture, type DlqFixture } from './support/dlq-harness';

const logger = silentLogger();

/** A latch per event id: the recording handler waits on it before it returns. */
class Latches {
  private readonly gates = new Map<string, { promise: Promise<void>; open: () => void }>();
  hold(eventId: string): void {
    let open!: () => void;
    const promise = new Promise<void>((resolve) => (open = resolve));
    this.gates.set(eventId, { promise, open });
  }
  release(eventId: string): void {
    this.gates.get(eventId)?.open();
  }
  wait(eventId: string): Promise<void> | undefined {
    return this.gates.get(eventId)?.promise;
  }
}

describe('DLQ recovery of dead events, proven by the event processor', () => {
  let fx: DlqFixture;
  let streams: Redis;
  let events: EventProcessor;
  const stream = uniqueName('recovery-events');
  const group = uniqueName('recovery-group');
  const handled: EventEnvelope[] = [];
  const latches = new Latches();

  beforeAll(async () => {
    fx = await startDlqFixture();
    streams = createRedis({ url: fx.env.REDIS_STREAMS_URL!, role: REDIS_ROLES.streams, profile: 'producer', logger });
    events = await startEventProcessor(
      loadEventConfig({
        ...fx.env,
        EVENT_PROCESSOR_PORT: '0',
        STREAM_NAME: stream,
        CONSUMER_GROUP: group,
        EVENT_BLOCK_MS: '100',
        EVENT_FANOUT_ENABLED: 'false',
        EVENT_TRIM_INTERVAL_MS: '0',
      }),
      logger,
      {
        configure: (router) =>
          router.on('*', 'test-recorder', async (event) => {
            handled.push(event);
            await latches.wait(event.id);
          }),
      },
    );
  });

  afterAll(async () => {
    await events.close();
    streams.disconnect();
    await fx.close();
  });

  const entryOf = async (id: string) => (await fx.api('GET', `/dlq/${id}`)).body;

  function deadEvent(): EventEnvelope {
    return createEvent({ type: 'workspace.created', data: { workspaceId: uniqueName('w'), name: 'Acme', ownerId: 'u-1' } }, SERVICES.event);
  }

  async function sinkEvent(event: EventEnvelope): Promise<string> {
    const now = new Date().toISOString();
    return fx.sink.add({
      kind: 'event',
      origin: { kind: 'event', stream, group, entryId: '1-1', eventId: event.id },
      name: event.type,
      data: event,
      error: { message: 'handler failed: connect ECONNREFUSED 10.0.0.1:5432', code: 'ECONNREFUSED' },
      attempts: 3,
      firstFailedAt: now,
      lastFailedAt: now,
    });
  }

  it('fan-out off, DLQ processor restarted while the retry runs: the durable record recovers the entry', async () => {
    const event = deadEvent();
    latches.hold(event.id);
    const id = await sinkEvent(event);
    await waitFor(async () => (await entryOf(id))?.status === 'retried' && handled.some((item) => item.id === event.id), 'the retry to be running');

    await fx.processor.close();
    latches.release(event.id);
    // Handled while no DLQ processor runs: the record waits on the streams Redis.
    await waitFor(async () => (await streams.hget(dlqHandledKey(group), id)) !== null, 'the retry handled record');
    await fx.restartProcessor();

    await waitFor(async () => (await entryOf(id))?.status === 'recovered', 'the entry to be recovered after the restart');
    expect(await streams.hget(dlqHandledKey(group), id)).toBeNull();
    expect((await entryOf(id)).retries).toBe(1);
  });

  it('forged dlqentryid on raw XADD entries (with and without a made-up token) never marks an entry recovered', async () => {
    // An entry waiting for its retry job, which no worker runs: it stays `retried`.
    const queue = uniqueName('no-worker');
    const id = await fx.sink.add(jobEntry(queue, 'j-1', { message: 'connect ETIMEDOUT', code: 'ETIMEDOUT' }));
    await waitFor(async () => (await entryOf(id))?.status === 'retried', 'the entry to be retried');

    const forged = [`${id}`, `${id}.${'0'.repeat(32)}`, `${id}.${'a'.repeat(32)}`];
    const ids: string[] = [];
    for (const dlqentryid of forged) {
      const event = deadEvent();
      ids.push(event.id);
      await streams.xadd(stream, '*', ...encodeEvent({ ...event, dlqentryid, dlqretries: 1 }));
    }
    await waitFor(async () => ids.every((eventId) => handled.some((item) => item.id === eventId)), 'the forged events to be handled');
    // Acknowledged means the records were written in the same pipeline; absent means the DLQ consumed them.
    await waitFor(async () => {
      const pending = (await streams.xpending(stream, group)) as [number];
      return pending[0] === 0 && (await streams.hget(dlqHandledKey(group), id)) === null;
    }, 'the forged records to be consumed');

    expect((await entryOf(id)).status).toBe('retried');
    // The token-shaped claims leave records (one or two: same field), the plain id none: counted as unverified.
    const metrics = await (await fetch(`${fx.processor.url}/metrics`)).text();
    expect(Number(/dlq_unverified_claims_total\{kind="recovery"[^}]*\} (\d+)/.exec(metrics)?.[1])).toBeGreaterThanOrEqual(1);
    const retryQueue = new Queue(queue, { connection: fx.queueRedis, prefix: bullPrefix(queue, fx.queueRedis.isCluster) });
    await retryQueue.obliterate({ force: true });
    await retryQueue.close();
  });

  it('a poison entry (type "") is in the DLQ and acknowledged within 10 s, and the trim point passes it', async () => {
    const poisonId = String(await streams.xadd(stream, '*', 'type', '', 'data', '{}'));
    const entry = await waitFor(
      async () => {
        const { body } = await fx.api('GET', `/dlq?origin=${stream}&status=parked`);
        return body.items.find((item: any) => item.origin.entryId === poisonId);
      },
      'the poison entry in the DLQ',
      { timeoutMs: 10_000 },
    );
    expect(entry).toMatchObject({ name: '(invalid)', classification: 'permanent' });
    // List items are summaries: the stored record is read whole from the detail route.
    const detail = (await fx.api('GET', `/dlq/${entry.id}`)).body;
    expect(detail.data).toBeNull();
    expect(detail.origin.fields).toEqual(['type', '', 'data', '{}']);
    await waitFor(async () => ((await streams.xpending(stream, group)) as [number])[0] === 0, 'the poison entry acknowledged', { timeoutMs: 10_000 });

    const report = await events.engine.janitor.runOnce();
    expect(report.trimPoint).not.toBeNull();
    expect(compareStreamIds(report.trimPoint!, poisonId)).toBeGreaterThan(0);
    expect(events.engine.janitor.oldestPendingAgeMs).toBe(0);
  });
});
