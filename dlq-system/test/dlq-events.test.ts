import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  REDIS_ROLES,
  SERVICES,
  createEvent,
  createRedis,
  type EventEnvelope,
  type Redis,
} from '@event-infra/shared';
import { silentLogger, uniqueName, waitFor } from '@event-infra/testing';
import { loadConfig as loadEventConfig } from '../../event-system/src/config';
import { startEventProcessor, type EventProcessor } from '../../event-system/src/service';
import { startDlqFixture, type DlqFixture } from './support/dlq-harness';

describe('DLQ processor with dead events', () => {
  const logger = silentLogger();
  let fx: DlqFixture;
  let writer: Redis;
  let eventProcessor: EventProcessor;
  const stream = uniqueName('events');
  const group = uniqueName('group');
  const handled: EventEnvelope[] = [];

  beforeAll(async () => {
    fx = await startDlqFixture();
    writer = createRedis({ url: fx.env.REDIS_STREAMS_URL!, role: REDIS_ROLES.streams, profile: 'producer', logger });
    // The real event processor on the same Redis instances and DLQ queue, with its fan-out OFF:
    // the DLQ processor learns from its durable "retry handled" record that the event was handled.
    const config = loadEventConfig({
      ...fx.env,
      EVENT_PROCESSOR_PORT: '0',
      STREAM_NAME: stream,
      CONSUMER_GROUP: group,
      EVENT_BLOCK_MS: '100',
      EVENT_FANOUT_ENABLED: 'false',
    });
    eventProcessor = await startEventProcessor(config, logger, {
      configure: (router) =>
        router.on('*', 'test-recorder', async (event) => {
          handled.push(event);
        }),
    });
  });

  afterAll(async () => {
    await eventProcessor.close();
    writer.disconnect();
    await fx.close();
  });

  it('sends a dead event back onto its stream with the same id; the consumer processes it and the entry is recovered', async () => {
    const event = createEvent(
      { type: 'workspace.created', data: { workspaceId: 'w-1', name: 'Acme', ownerId: 'u-1' } },
      SERVICES.event,
    );
    const now = new Date().toISOString();
    const dlqJobId = await fx.sink.add({
      kind: 'event',
      origin: { kind: 'event', stream, group, entryId: '1-1', eventId: event.id },
      name: event.type,
      data: event,
      error: { message: 'handler failed: connect ECONNREFUSED 10.0.0.1:5432', code: 'ECONNREFUSED' },
      attempts: 3,
      firstFailedAt: now,
      lastFailedAt: now,
    });

    const entry = await waitFor(async () => {
      const { body } = await fx.api('GET', `/dlq/${dlqJobId}`);
      return body?.status === 'recovered' ? body : undefined;
    }, 'the event entry to be recovered');
    expect(entry).toMatchObject({ kind: 'event', originName: stream, classification: 'transient', rule: 'network-code', retries: 1 });
    expect(entry.retriedTo).toMatchObject({ kind: 'event', stream, eventId: event.id });

    const processed = handled.filter((item) => item.id === event.id);
    expect(processed).toHaveLength(1);
    expect(processed[0]).toMatchObject({ id: event.id, type: event.type, data: event.data, dlqretries: 1 });
    expect(processed[0]!.dlqentryid).toMatch(new RegExp(`^${dlqJobId}\\.[0-9a-f]{32}$`));
  });

  it('parks a transient dead event that cannot be re-published (not an envelope) instead of retrying it', async () => {
    const now = new Date().toISOString();
    const dlqJobId = await fx.sink.add({
      kind: 'event',
      origin: { kind: 'event', stream, group, entryId: '2-1', fields: ['type', 'workspace.created', 'data', '{}'] },
      name: 'workspace.created',
      data: { type: 'workspace.created', data: '{}' },
      error: { message: 'handler failed', code: 'ECONNRESET' },
      attempts: 3,
      firstFailedAt: now,
      lastFailedAt: now,
    });
    const entry = await waitFor(async () => {
      const { body } = await fx.api('GET', `/dlq/${dlqJobId}`);
      return body?.status === 'parked' ? body : undefined;
    }, 'the entry to be parked');
    expect(entry).toMatchObject({ classification: 'transient', parkReason: 'retry_failed', retries: 0 });
  });

  it('parks an invalid entry the consumer dead-lettered, as permanent, and refuses to re-publish it', async () => {
    await writer.xadd(stream, '*', 'id', 'not-a-uuid', 'type', 'workspace.created', 'data', '{broken');
    const entry = await waitFor(async () => {
      const { body } = await fx.api('GET', `/dlq?origin=${stream}&status=parked&classification=permanent`);
      return body.items[0];
    }, 'the invalid entry to be parked');
    expect(entry).toMatchObject({ kind: 'event', classification: 'permanent', rule: 'permanent-marker', parkReason: 'permanent' });
    expect(entry.origin.fields).toBeUndefined(); // list items are summaries
    expect(entry.data).toBeUndefined();
    // Stored once, as on the wire: the raw fields, no copy in `data`.
    const detail = (await fx.api('GET', `/dlq/${entry.id}`)).body;
    expect(detail.origin.fields).toEqual(['id', 'not-a-uuid', 'type', 'workspace.created', 'data', '{broken']);
    expect(detail.data).toBeNull();
    expect(entry.error.code).toBe('bad_json');

    const retry = await fx.api('POST', `/dlq/${entry.id}/retry`);
    expect(retry.status).toBe(409);
    expect(retry.body).toMatchObject({ error: 'conflict' });
    expect((await fx.api('GET', `/dlq/${entry.id}`)).body.status).toBe('parked');
  });
});
