import { describe, expect, it } from 'vitest';
import { Queue } from 'bullmq';
import { bullPrefix, SERVICES, createDeadLetterSink, createEvent, createMetricsRegistry, type ParsedDeadLetterEntry } from '@event-infra/shared';
import { silentLogger, uniqueName } from '@event-infra/testing';
import { EventDeadLetters } from '../src/core/event-dead-letters';
import { ProcessorMetrics } from '../src/core/processor-metrics';
import { useTestResources } from './helpers';

const { client } = useTestResources();

/** The event processor's DLQ writer on a real sink (queue Redis) and a unique DLQ queue. */
function setup(stream: string) {
  const redis = client('queue');
  const queueName = uniqueName('dlq');
  const sink = createDeadLetterSink({ queueName, connection: redis });
  const metrics = new ProcessorMetrics(createMetricsRegistry('test'));
  const deadLetters = new EventDeadLetters({ stream, group: 'g', maxEntryBytes: 1_048_576 }, { dlq: sink, metrics, logger: silentLogger() });
  const queue = new Queue(queueName, { connection: redis, prefix: bullPrefix(queueName, redis.isCluster) });
  const stored = async () => (await queue.getJobs(['waiting'], 0, -1)).map((job) => job.data as ParsedDeadLetterEntry);
  return { deadLetters, metrics, stored, close: async () => { await queue.obliterate({ force: true }); await queue.close(); await sink.close(); } };
}

describe('event dead letters: a DLQ write that cannot succeed is not retried forever', () => {
  it('a record the DLQ schema refuses is replaced by a minimal one, and the entry counts as dead-lettered', async () => {
    const fx = setup(uniqueName('stream'));
    const event = createEvent({ type: 'workspace.created', data: { workspaceId: 'w', name: 'n', ownerId: 'u' } }, SERVICES.event);
    // An envelope no builder would produce (empty type): the full record is refused by the schema.
    const sent = await fx.deadLetters.event('1-1', { ...event, type: '' }, new Error('handler failed'), 3, new Date().toISOString());
    expect(sent).toBe(true);
    const [record] = await fx.stored();
    expect(record).toMatchObject({ name: '(invalid)', data: null, attempts: 3, error: { code: 'dlq_record_refused', permanent: true } });
    expect(record!.error.message).toContain('name');
    expect(fx.metrics.counters.deadLettered).toBe(1);
    await fx.close();
  });

  it('when even the minimal record is refused, the entry is still settled (true), not left pending', async () => {
    // An empty stream name fails the origin schema of every record.
    const fx = setup('');
    expect(await fx.deadLetters.invalid('1-2', ['type', '', 'data', '{}'], new Error('bad'), 1)).toBe(true);
    expect(await fx.stored()).toEqual([]);
    expect(fx.metrics.counters.deadLettered).toBe(0);
    await fx.close();
  });
});
