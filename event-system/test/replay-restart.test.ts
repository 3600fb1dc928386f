import { describe, expect, it } from 'vitest';
import { uniqueName, waitFor } from '@event-infra/testing';
import { compareStreamIds } from '../src/core/stream-replies';
import { useChildProcessors } from './child-processor';
import { testEnv, testPublisher, useTestResources, workspaceCreated } from './helpers';

const { client } = useTestResources();
const spawnProcessor = useChildProcessors();

async function replayTask(url: string, id: string): Promise<any> {
  return (await fetch(`${url}/replay/${id}`)).json();
}

/**
 * 300 events, handled live; a replay of all of them at 100/s is started on process A, A is
 * stopped mid-replay (kill -9 or SIGTERM), process B takes the task over once A's lease ran
 * out (or at once, when A released it) and finishes it.
 */
async function replayAcrossRestart(signal: 'SIGKILL' | 'SIGTERM') {
  const recordKey = uniqueName('handled');
  const env = testEnv({ RECORD_KEY: recordKey, REPLAY_LEASE_MS: '1000', REPLAY_POLL_MS: '100' });
  const master = client('master');
  const streams = client('streams');
  const a = await spawnProcessor(env);
  const total = 300;
  await testPublisher(streams, env.STREAM_NAME!).publishBatch(Array.from({ length: total }, (_, i) => workspaceCreated(`r${i}`)));
  await waitFor(async () => (await master.hlen(recordKey)) === total, 'live deliveries', { timeoutMs: 30_000 });
  const entryIds = (await streams.xrange(env.STREAM_NAME!, '-', '+')).map(([id]) => id);

  const created = await fetch(`${a.url}/replay`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ from: '0-0', target: 'handlers', ratePerSec: 100 }) });
  expect(created.status).toBe(202);
  const { id } = (await created.json()) as { id: string };
  const replayKey = `${recordKey}:replay`;
  await waitFor(async () => (await master.hlen(replayKey)) >= 60, 'replay under way', { timeoutMs: 30_000 });
  a.process.kill(signal);
  const exit = await a.exited;
  const replayedByA = await master.hlen(replayKey);
  expect(replayedByA).toBeLessThan(total);

  const b = await spawnProcessor(env);
  const done = await waitFor(async () => {
    const body = await replayTask(b.url, id);
    return body.state === 'completed' ? body : undefined;
  }, 'replay completed by B', { timeoutMs: 60_000, intervalMs: 100 });
  const counts = await master.hgetall(replayKey);
  // No entry replayed twice across the restart.
  expect(Object.values(counts).filter((n) => n !== '1')).toEqual([]);
  const uncertain = done.uncertain as { stream: string; first: string; last: string }[];
  const inUncertain = (entryId: string) => uncertain.some((range) => compareStreamIds(range.first, entryId) <= 0 && compareStreamIds(entryId, range.last) <= 0);
  // Every entry outside an uncertain batch was replayed exactly once; inside one, at most once.
  expect(entryIds.filter((entryId) => !inUncertain(entryId) && counts[entryId] === undefined)).toEqual([]);
  return { exit, done, uncertain, replayedByA, b };
}

describe('replay across a restart', () => {
  it('kill -9 mid-replay: another process resumes after the lease, no entry is replayed twice; the batch in flight is listed, not repeated', { timeout: 120_000 }, async () => {
    const { exit, done, uncertain } = await replayAcrossRestart('SIGKILL');
    expect(exit.signal).toBe('SIGKILL');
    // Killed between begin and checkpoint, or just after a checkpoint: at most one batch uncertain (33 entries at 100/s, 1 s lease).
    expect(uncertain.length).toBeLessThanOrEqual(1);
    expect(done.handled).toBeGreaterThanOrEqual(300 - 33);
    expect(done.inflight).toBeNull();
  });

  it('SIGTERM mid-replay: the task is checkpointed and released, another process finishes it, nothing uncertain', { timeout: 120_000 }, async () => {
    const { exit, done, uncertain, b } = await replayAcrossRestart('SIGTERM');
    expect(exit.code).toBe(0);
    expect(uncertain).toEqual([]);
    expect(done).toMatchObject({ handled: 300, failed: 0 });
    b.process.kill('SIGTERM');
    expect((await b.exited).code).toBe(0);
  });
});
