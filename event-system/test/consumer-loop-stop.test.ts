/**
 * Stopping consumer loops: a loop blocked in XREADGROUP is interrupted (CLIENT UNBLOCK) rather
 * than waited out, and a batch in hand when the stop comes is finished and acknowledged.
 */
import { describe, expect, it } from 'vitest';
import { REDIS_ROLES } from '@event-infra/shared';
import { waitFor } from '@event-infra/testing';
import { useTestResources, pendingCount, startTestProcessor, testEnv, testPublisher, workspaceCreated } from './helpers';

const { open, client } = useTestResources();

describe('consumer loop stop', () => {
  it('interrupts a read blocked for a minute instead of waiting for it', async () => {
    const env = testEnv({ EVENT_BLOCK_MS: '60000', EVENT_CONSUMERS: '2' });
    const processor = await startTestProcessor(env);
    open.push(processor);
    const streams = client('streams');
    // Both loops are in their blocking read once Redis lists their connections (named after the
    // loops) blocked in XREADGROUP; other test files' loops block on the same Redis meanwhile.
    const loops = processor.engine.pool.names();
    expect(loops).toHaveLength(2);
    await waitFor(async () => {
      const list = String(await streams.call('CLIENT', 'LIST')).split('\n');
      const blocked = (loop: string) => list.some((line) => line.includes(` name=evinfra:${REDIS_ROLES.streams}:${loop} `) && line.includes('cmd=xreadgroup') && line.includes('flags=b'));
      return loops.every(blocked);
    }, 'both loops blocked in their read');
    const closing = processor.close();
    const outcome = await Promise.race([closing.then(() => 'closed'), new Promise((resolve) => setTimeout(resolve, 10_000, 'still blocked'))]);
    expect(outcome).toBe('closed');
  });

  it('finishes and acknowledges the batch in hand when stopped mid-batch', async () => {
    const env = testEnv({ EVENT_CLAIM_IDLE_MS: '60000' });
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let entered = 0;
    let finished = 0;
    const processor = await startTestProcessor(env, (router) =>
      router.on('*', 'slow', async () => {
        entered += 1;
        await gate;
        finished += 1;
      }),
    );
    open.push(processor);
    const streams = client('streams');
    await testPublisher(streams, env.STREAM_NAME!).publishBatch([workspaceCreated('a'), workspaceCreated('b')]);
    // The first read may hold only the first entry; the second is then read while it runs.
    await waitFor(() => entered >= 1, 'a handler running');
    const closing = processor.close();
    let closed = false;
    void closing.then(() => (closed = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect(closed).toBe(false);
    release();
    await closing;
    expect(finished).toBe(2);
    expect(await pendingCount(streams, env.STREAM_NAME!, env.CONSUMER_GROUP!)).toBe(0);
    expect(processor.engine.metrics.counters.processed).toBe(2);
  });
});
