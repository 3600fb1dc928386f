/**
 * Duplicate suppression on the real streams Redis: ids marked in the current time bucket are
 * found during that window and the next one, not later; nothing is marked or found when off;
 * look-ups past the script's 1,000-id chunk find every id.
 */
import { describe, expect, it } from 'vitest';
import { processedEventsKey } from '@event-infra/shared';
import { uniqueName } from '@event-infra/testing';
import { DuplicateFilter } from '../src/core/dedupe';
import { useTestResources } from './helpers';

const { client } = useTestResources();
const WINDOW_MS = 60_000;

function filter(enabled = true) {
  const clock = { now: 10 * WINDOW_MS + 5 };
  const group = uniqueName('group');
  const dedupe = new DuplicateFilter({ group, enabled, windowMs: WINDOW_MS, now: () => clock.now });
  return { dedupe, clock, group };
}

async function mark(dedupe: DuplicateFilter, ids: string[]): Promise<void> {
  const pipeline = client('streams').pipeline();
  dedupe.mark(pipeline, ids);
  const results = (await pipeline.exec()) ?? [];
  expect(results.every(([err]) => err === null)).toBe(true);
}

describe('duplicate filter', () => {
  it('finds marked ids in the same window and the next one, not two windows later', async () => {
    const { dedupe, clock } = filter();
    const streams = client('streams');
    await mark(dedupe, ['a', 'b']);
    expect(await dedupe.findProcessed(streams, ['x', 'a', 'y', 'b'])).toEqual(new Set(['a', 'b']));
    clock.now += WINDOW_MS;
    expect(await dedupe.findProcessed(streams, ['a', 'b', 'c'])).toEqual(new Set(['a', 'b']));
    clock.now += WINDOW_MS;
    expect(await dedupe.findProcessed(streams, ['a', 'b'])).toEqual(new Set());
  });

  it('marks in the bucket of the current window with an expiry of two windows plus slack', async () => {
    const { dedupe, group } = filter();
    const streams = client('streams');
    await mark(dedupe, ['e1']);
    const key = processedEventsKey(group, 10);
    expect(await streams.smembers(key)).toEqual(['e1']);
    const ttl = await streams.pttl(key);
    expect(ttl).toBeGreaterThan(2 * WINDOW_MS + 50_000);
    expect(ttl).toBeLessThanOrEqual(2 * WINDOW_MS + 60_000);
    expect(dedupe.lookupLength(['e1'])).toBe(1);
    expect(dedupe.lookupLength([])).toBe(0);
  });

  it('finds every id of a look-up larger than one script chunk, at the right positions', async () => {
    const { dedupe } = filter();
    const streams = client('streams');
    const ids = Array.from({ length: 2_500 }, (_, i) => `id-${i}`);
    const marked = ids.filter((_, i) => i % 7 === 0 || i === 999 || i === 1000 || i === 2_499);
    await mark(dedupe, marked);
    expect(await dedupe.findProcessed(streams, ids)).toEqual(new Set(marked));
  });

  it('does nothing when off: no marker, no look-up command, nothing found', async () => {
    const { dedupe, group } = filter(false);
    const streams = client('streams');
    expect(dedupe.enabled).toBe(false);
    await mark(dedupe, ['a']);
    expect(await streams.exists(processedEventsKey(group, 10))).toBe(0);
    expect(dedupe.lookupLength(['a'])).toBe(0);
    const pipeline = streams.pipeline();
    const read = dedupe.queueLookup(pipeline, ['a']);
    expect(pipeline.length).toBe(0);
    expect(read([])).toEqual(new Set());
    expect(await filter(true).dedupe.findProcessed(streams, [])).toEqual(new Set());
  });

  it('a failed look-up throws its error, and a missing one says so', async () => {
    const { dedupe } = filter();
    const pipeline = client('streams').pipeline();
    const read = dedupe.queueLookup(pipeline, ['a']);
    expect(pipeline.length).toBe(1);
    expect(() => read([[new Error('NOSCRIPT lost'), null]])).toThrow('NOSCRIPT lost');
    expect(() => read([])).toThrow('duplicate look-up missing from the pipeline');
  });
});
