/** Stream snapshots on the real streams Redis: missing stream or group, lag, consumers. */
import { describe, expect, it } from 'vitest';
import { uniqueName } from '@event-infra/testing';
import { readStreamSnapshot } from '../src/core/stream-snapshot';
import { useTestResources } from './helpers';

const { client } = useTestResources();

describe('stream snapshot', () => {
  it('reads a missing stream as empty, with no group', async () => {
    const snapshot = await readStreamSnapshot(client('streams'), uniqueName('stream'), 'g');
    expect(snapshot).toEqual({ length: 0, groups: [], group: undefined, lag: 0, consumers: [] });
  });

  it('reports length, our group, its lag and consumers; other groups are listed but not ours', async () => {
    const streams = client('streams');
    const stream = uniqueName('stream');
    for (let i = 0; i < 5; i += 1) await streams.xadd(stream, '*', 'n', String(i));
    await streams.xgroup('CREATE', stream, 'ours', '0');
    await streams.xgroup('CREATE', stream, 'other', '$');
    await streams.xreadgroup('GROUP', 'ours', 'c1', 'COUNT', 2, 'STREAMS', stream, '>');
    const snapshot = await readStreamSnapshot(streams, stream, 'ours');
    expect(snapshot.length).toBe(5);
    expect(snapshot.groups.map((g) => g.name).sort()).toEqual(['other', 'ours']);
    expect(snapshot.group).toMatchObject({ name: 'ours', pending: 2, consumers: 1 });
    expect(snapshot.lag).toBe(3);
    expect(snapshot.consumers.map((c) => [c.name, c.pending])).toEqual([['c1', 2]]);
    const without = await readStreamSnapshot(streams, stream, 'ours', false);
    expect(without.consumers).toEqual([]);
    expect(without.lag).toBe(3);
    const notOurs = await readStreamSnapshot(streams, stream, 'missing');
    expect(notOurs).toMatchObject({ length: 5, group: undefined, lag: 0, consumers: [] });
  });

  it('counts the undelivered entries itself when Redis reports no lag (after a deletion)', async () => {
    const streams = client('streams');
    const stream = uniqueName('stream');
    const ids: string[] = [];
    for (let i = 0; i < 6; i += 1) ids.push((await streams.xadd(stream, '*', 'n', String(i)))!);
    await streams.xgroup('CREATE', stream, 'g', '0');
    await streams.xreadgroup('GROUP', 'g', 'c1', 'COUNT', 2, 'STREAMS', stream, '>');
    // Deleting an entry past last-delivered makes Redis give up on the lag (null).
    await streams.xdel(stream, ids[4]!);
    const snapshot = await readStreamSnapshot(streams, stream, 'g');
    expect(snapshot.group?.lag).toBeNull();
    expect(snapshot.lag).toBe(3);
  });

  it('counts past one XRANGE page (1,000 entries) exactly when Redis reports no lag', async () => {
    const streams = client('streams');
    const stream = uniqueName('stream');
    const pipeline = streams.pipeline();
    for (let i = 0; i < 2_503; i += 1) pipeline.xadd(stream, `1-${i + 1}`, 'n', String(i));
    await pipeline.exec();
    await streams.xgroup('CREATE', stream, 'g', '0');
    await streams.xreadgroup('GROUP', 'g', 'c1', 'COUNT', 2, 'STREAMS', stream, '>');
    await streams.xdel(stream, '1-100');
    const snapshot = await readStreamSnapshot(streams, stream, 'g', false);
    expect(snapshot.group?.lag).toBeNull();
    expect(snapshot.lag).toBe(2_500);
  });

  it('rethrows errors other than a missing stream', async () => {
    const streams = client('streams');
    const key = uniqueName('key');
    await streams.set(key, 'not a stream');
    await expect(readStreamSnapshot(streams, key, 'g')).rejects.toThrow(/WRONGTYPE/);
  });
});
