/**
 * The consumer loop pipelines the duplicate look-up of batch N+1 with the acknowledgement of
 * batch N-1 while batch N is handled, so that look-up cannot see N's markers: N's processed ids
 * are carried over as "seen" into N+1. With one entry per batch and the same event written
 * twice before the processor starts, the second copy is read and looked up while the first is
 * being handled: only the carry-over suppresses it.
 */
import { describe, expect, it } from 'vitest';
import { createEvent, type EventEnvelope } from '@event-infra/shared';
import { waitFor } from '@event-infra/testing';
import { useTestResources, pendingCount, startTestProcessor, testEnv, testPublisher, workspaceCreated } from './helpers';

const { open, client } = useTestResources();

/** Writes `copies` entries of one event, then starts a processor reading one entry per batch. */
async function runCopies(copies: number, overrides: Record<string, string>) {
  const env = testEnv({ EVENT_BATCH_SIZE: '1', EVENT_CLAIM_IDLE_MS: '60000', ...overrides });
  const streams = client('streams');
  const event: EventEnvelope = createEvent(workspaceCreated('twice'), 'test');
  const publisher = testPublisher(streams, env.STREAM_NAME!);
  for (let copy = 0; copy < copies; copy += 1) await publisher.publishEnvelope(event);
  const calls: string[] = [];
  const processor = await startTestProcessor(env, (router) => router.on('*', 'count', async (handled) => void calls.push(handled.id)));
  open.push(processor);
  // Every copy is acknowledged (handled or suppressed) once nothing is pending and the group read them all.
  await waitFor(async () => {
    const stats = await processor.engine.stats();
    return stats.counters.processed + stats.counters.duplicates === copies;
  }, 'every copy settled');
  await waitFor(async () => (await pendingCount(streams, env.STREAM_NAME!, env.CONSUMER_GROUP!)) === 0, 'all acknowledged');
  return { calls, counters: (await processor.engine.stats()).counters, event };
}

describe('consumer loop: processed ids carried over between batches', () => {
  it('suppresses a copy read in the very next batch, before the first copy was marked in Redis', async () => {
    const { calls, counters, event } = await runCopies(2, {});
    expect(calls).toEqual([event.id]);
    expect(counters).toMatchObject({ processed: 1, duplicates: 1 });
  });

  it('suppresses every later copy in a run of consecutive batches', async () => {
    const { calls, counters } = await runCopies(4, {});
    expect(calls).toHaveLength(1);
    expect(counters).toMatchObject({ processed: 1, duplicates: 3 });
  });

  it('carries nothing over with duplicate suppression off: every copy runs its handlers', async () => {
    const { calls, counters } = await runCopies(3, { EVENT_DEDUPE_ENABLED: 'false' });
    expect(calls).toHaveLength(3);
    expect(counters).toMatchObject({ processed: 3, duplicates: 0 });
  });
});
