import { describe, expect, it } from 'vitest';
import { createMetricsRegistry, type Redis } from '@event-infra/shared';
import { silentLogger, uniqueName } from '@event-infra/testing';
import { ProcessorMetrics } from '../src/core/processor-metrics';
import { RetentionJanitor, type RetentionJanitorOptions } from '../src/core/retention-janitor';
import { useTestResources } from './helpers';

const { client } = useTestResources();

function janitorFor(stream: string, streams: Redis, master: Redis, retention: Partial<RetentionJanitorOptions>) {
  const metrics = new ProcessorMetrics(createMetricsRegistry('test'));
  return new RetentionJanitor({ stream, maxLenApprox: 0, alertRatio: 0.8, service: 'test', ...retention }, { streams, master, metrics, logger: silentLogger() });
}

/** Reads `count` entries as group `group` and acknowledges them. */
async function readAndAck(redis: Redis, stream: string, group: string, count: number): Promise<string[]> {
  const reply = (await redis.xreadgroup('GROUP', group, 'c1', 'COUNT', count, 'STREAMS', stream, '>')) as [string, [string, string[]][]][];
  const ids = reply[0]![1].map(([id]) => id);
  if (ids.length > 0) await redis.xack(stream, group, ...ids);
  return ids;
}

async function idsOf(redis: Redis, stream: string): Promise<string[]> {
  return (await redis.xrange(stream, '-', '+')).map(([id]) => id);
}

describe('retention (STREAM_RETENTION_MAXLEN / STREAM_RETENTION_MS)', () => {
  it('keeps the newest MAXLEN acknowledged entries, and never trims what a lagging group has not acknowledged', async () => {
    const streams = client('streams');
    const stream = uniqueName('stream');
    const ids: string[] = [];
    for (let i = 0; i < 100; i += 1) ids.push((await streams.xadd(stream, `${1_000 + i}-0`, 'n', String(i)))!);
    await streams.xgroup('CREATE', stream, 'fast', '0');
    await streams.xgroup('CREATE', stream, 'lagging', '0');
    const janitor = janitorFor(stream, streams, client('master'), { retentionMaxLen: 30 });
    await readAndAck(streams, stream, 'fast', 100);
    await readAndAck(streams, stream, 'lagging', 40);

    // Retention would let 70 go, but the lagging group still needs entry 40 on.
    expect(await janitor.runOnce()).toMatchObject({ trimPoint: '1039-1', trimmed: 40, length: 60 });
    await readAndAck(streams, stream, 'lagging', 60);
    // Everything acknowledged: the newest 30 stay (before retention, the stream would be empty).
    expect(await janitor.runOnce()).toMatchObject({ trimPoint: '1069-1', trimmed: 30, length: 30 });
    expect(await idsOf(streams, stream)).toEqual(ids.slice(70));
    expect(await janitor.runOnce()).toMatchObject({ trimmed: 0, length: 30 });
  });

  it('keeps acknowledged entries younger than STREAM_RETENTION_MS, trims the older ones; either limit trims', async () => {
    const streams = client('streams');
    const stream = uniqueName('stream');
    const ids: string[] = [];
    // Entry i was added at t = 10_000 + i * 1000 (ms, from its id).
    for (let i = 0; i < 10; i += 1) ids.push((await streams.xadd(stream, `${10_000 + i * 1000}-0`, 'n', String(i)))!);
    await streams.xgroup('CREATE', stream, 'only', '0');
    await readAndAck(streams, stream, 'only', 10);
    let now = 20_500;
    const byTime = janitorFor(stream, streams, client('master'), { retentionMs: 5_000, now: () => now });
    // Cut-off 15_500: entries 0..5 (t ≤ 15_000) go, 6..9 stay.
    expect(await byTime.runOnce()).toMatchObject({ trimPoint: '15500-0', trimmed: 6, length: 4 });
    expect(await byTime.oldestEntryAgeMs()).toBe(4_500);
    // Time limit keeps 4, the length limit 2: the stricter one wins.
    const both = janitorFor(stream, streams, client('master'), { retentionMs: 5_000, retentionMaxLen: 2, now: () => now });
    expect(await both.runOnce()).toMatchObject({ trimmed: 2, length: 2 });
    expect(await idsOf(streams, stream)).toEqual(ids.slice(8));
    now = 100_000;
    expect(await both.runOnce()).toMatchObject({ trimmed: 2, length: 0 });
    expect(await byTime.oldestEntryAgeMs()).toBeNull();
  });

  it('without limits trims everything acknowledged, as before retention', async () => {
    const streams = client('streams');
    const stream = uniqueName('stream');
    for (let i = 0; i < 5; i += 1) await streams.xadd(stream, '*', 'n', String(i));
    await streams.xgroup('CREATE', stream, 'only', '0');
    await readAndAck(streams, stream, 'only', 5);
    expect(await janitorFor(stream, streams, client('master'), {}).runOnce()).toMatchObject({ trimmed: 5, length: 0 });
  });
});
