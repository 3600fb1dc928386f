/**
 * The consumer loop blocks in XREADGROUP only with nothing in hand: with a one-minute block
 * time, events are still handled and acknowledged at once, one by one and in bursts (a loop
 * that blocked while holding a batch would sit on it for the whole block time).
 */
import { describe, expect, it } from 'vitest';
import { waitFor } from '@event-infra/testing';
import { useTestResources, pendingCount, startTestProcessor, testEnv, testPublisher, workspaceCreated } from './helpers';

const { open, client } = useTestResources();
/** "At once": well under the minute a read may block, with room for a loaded machine. */
const PROMPT_MS = 15_000;

describe('consumer loop reads', () => {
  it('handles and acknowledges events promptly although a read may block for a minute', { timeout: 90_000 }, async () => {
    const env = testEnv({ EVENT_BLOCK_MS: '60000', EVENT_BATCH_SIZE: '3', EVENT_CLAIM_IDLE_MS: '600000', EVENT_CLAIM_INTERVAL_MS: '600000' });
    const handled: string[] = [];
    const processor = await startTestProcessor(env, (router) => router.on('*', 'record', async (event) => void handled.push(event.id)));
    open.push(processor);
    const streams = client('streams');
    const publisher = testPublisher(streams, env.STREAM_NAME!);
    const acknowledged = () => pendingCount(streams, env.STREAM_NAME!, env.CONSUMER_GROUP!);

    const single = await publisher.publish(workspaceCreated('one'));
    await waitFor(() => handled.includes(single.id), 'the single event handled', { timeoutMs: PROMPT_MS });
    await waitFor(async () => (await acknowledged()) === 0, 'the single event acknowledged', { timeoutMs: PROMPT_MS });

    // A burst larger than a batch: several reads in a row, then back to a blocking read.
    const burst = await publisher.publishBatch(Array.from({ length: 10 }, (_, i) => workspaceCreated(`b${i}`)));
    await waitFor(() => burst.every((event) => handled.includes(event.id)), 'the burst handled', { timeoutMs: PROMPT_MS });
    await waitFor(async () => (await acknowledged()) === 0, 'the burst acknowledged', { timeoutMs: PROMPT_MS });
    expect(handled).toHaveLength(11);
    expect(processor.engine.metrics.counters.processed).toBe(11);
  });
});
