/**
 * The timeline's append script (`lua/timeline-append-3.lua`) on a real redis-server: entries
 * come in the stored form; fields new in the bucket are written as they came by one HSET (the
 * fast path, answer 0), a field given twice in one call or already in the bucket goes through
 * the merge (the general path, answer: the fields it wrote), and a bound below an entry's nine
 * steps cuts even a new field. Then the recorder and the script together against a model of the
 * stored form: seeded runs of steps over few correlations, flushes between them, both bounds.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  TimelineRecorder,
  timelineBucketKey,
  timelineBucketStartMs,
  timelineBucketWidthMs,
  timelineBounds,
  timelineStepsField,
} from '@event-infra/shared';
import { silentLogger, uniqueName } from '@event-infra/testing';
import { timelineMaster } from './support/timeline-master';

const logger = silentLogger();
const master = timelineMaster();
const SCRIPT = readFileSync(new URL('../src/timeline/lua/timeline-append-3.lua', import.meta.url), 'utf8');

/** A step line as the writers store it (its subject names it). */
const step = (name: string): string => `["job.started","${name}",0,1764700000000,"test"]`;

/** The stored value of `steps` (one as it is, more as `<count>\n` and the lines). */
const stored = (steps: readonly string[]): string => (steps.length === 1 ? steps[0]! : `${steps.length}\n${steps.join('\n')}`);

/** Runs the script on `bucket`: `entries` [field, value], `refs` [field, correlation]; answers its reply. */
async function append(bucket: string, maxSteps: number, entries: readonly (readonly [string, string])[], refs: readonly (readonly [string, string])[] = []): Promise<number> {
  const { headSize, tailSize } = timelineBounds(maxSteps);
  const nowMs = Date.now();
  const args = [headSize, tailSize, nowMs + 60_000, nowMs, entries.length, ...entries.flat(), refs.length, ...refs.flat()];
  return Number(await master.redis.eval(SCRIPT, 2, bucket, `${bucket}:registry`, ...args));
}

describe('timeline append script', () => {
  it('writes fields new in the bucket as they came (the fast path), with the look-ups, the expiry and the registry', async () => {
    const bucket = uniqueName('bucket');
    const entries: [string, string][] = [];
    for (let index = 0; index < 200; index += 1) {
      const steps = Array.from({ length: 1 + (index % 9) }, (_, at) => step(`job:q:${index}:${at}`));
      entries.push([`c:corr-${index}`, stored(steps)]);
    }
    expect(await append(bucket, 200, entries, [['j:q:7', 'corr-7']])).toBe(0);
    const hash = await master.redis.hgetall(bucket);
    expect(Object.keys(hash)).toHaveLength(201);
    for (const [field, value] of entries) expect(hash[field]).toBe(value);
    expect(hash['j:q:7']).toBe('corr-7');
    expect(await master.redis.pttl(bucket)).toBeGreaterThan(50_000);
    expect(await master.redis.zscore(`${bucket}:registry`, bucket)).not.toBeNull();
  });

  it('merges a field given twice in one call, none stored yet, in order (the general path)', async () => {
    const bucket = uniqueName('bucket');
    const reply = await append(bucket, 200, [
      ['c:a', stored([step('a1'), step('a2')])],
      ['c:b', stored([step('b1')])],
      ['c:a', stored([step('a3')])],
      ['c:c', stored([step('c1')])],
      ['c:a', stored([step('a4'), step('a5'), step('a6')])],
    ]);
    expect(reply).toBe(3);
    const hash = await master.redis.hgetall(bucket);
    expect(hash).toEqual({
      'c:a': stored(['a1', 'a2', 'a3', 'a4', 'a5', 'a6'].map(step)),
      'c:b': stored([step('b1')]),
      'c:c': stored([step('c1')]),
    });
  });

  it('appends to fields the bucket holds (one step or counted), writing new ones of the same call as they came', async () => {
    const bucket = uniqueName('bucket');
    await master.redis.hset(bucket, 'c:one', stored([step('o1')]), 'c:many', stored([step('m1'), step('m2')]));
    const reply = await append(bucket, 200, [
      ['c:one', stored([step('o2'), step('o3')])],
      ['c:new', stored([step('n1'), step('n2')])],
      ['c:many', stored([step('m3')])],
    ]);
    expect(reply).toBe(3);
    expect(await master.redis.hgetall(bucket)).toEqual({
      'c:one': stored(['o1', 'o2', 'o3'].map(step)),
      'c:many': stored(['m1', 'm2', 'm3'].map(step)),
      'c:new': stored([step('n1'), step('n2')]),
    });
  });

  it('cuts a new field of nine steps when the bound is below that (head, marker, tail)', async () => {
    const bucket = uniqueName('bucket');
    // maxSteps 4: head 2, tail 2, cut once a field passes 2 + 1 + 2 * 2 = 7 lines.
    const steps = Array.from({ length: 9 }, (_, at) => step(`s${at + 1}`));
    expect(await append(bucket, 4, [['c:long', stored(steps)]])).toBe(1);
    expect(await master.redis.hget(bucket, 'c:long')).toBe(`5\n${steps[0]}\n${steps[1]}\n#5\n${steps[7]}\n${steps[8]}`);
  });

  it('stores what a model of the stored form holds, for seeded runs of steps recorded over few correlations and flushes', async () => {
    let seed = 20261203;
    const random = (): number => {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
      return seed / 2_147_483_648;
    };
    const nowMs = Date.now();
    const retentionSec = 60;
    const widthMs = timelineBucketWidthMs(retentionSec);
    const bucket = timelineBucketKey(timelineBucketStartMs(nowMs, widthMs), widthMs);
    let steps = 0;
    for (const maxSteps of [4, 200]) {
      const { headSize, tailSize } = timelineBounds(maxSteps);
      const limit = headSize + 1 + 2 * tailSize;
      const recorder = new TimelineRecorder({ service: 'test', retentionSec, maxSteps }, { redis: master.redis, logger, clock: () => nowMs });
      master.recorder = recorder;
      const run = uniqueName(`model-${maxSteps}`);
      // Few correlations, and a new one now and then (new in the bucket: the fast path when it
      // is the only kind of field of a call).
      const correlations = [`${run}-0`];
      // Per correlation its stored lines: a step's index, or the marker `#<omitted>`.
      const model = new Map<string, string[]>();
      for (let flush = 0; flush < 12; flush += 1) {
        const added = new Map<string, string[]>();
        const runs = Math.floor(random() * 12);
        for (let index = 0; index < runs; index += 1) {
          if (random() < 0.4) correlations.push(`${run}-${correlations.length}`);
          const correlation = correlations[Math.floor(random() * correlations.length)]!;
          // Runs of 1 to 12 steps: one entry holds at most 9, the rest starts a second one.
          const length = 1 + Math.floor(random() * 12);
          for (let at = 0; at < length; at += 1) {
            steps += 1;
            recorder.record(correlation, { kind: 'job.progress', subject: 'job:q:1', detail: { i: steps }, atMs: nowMs });
            added.set(correlation, [...(added.get(correlation) ?? []), String(steps)]);
          }
        }
        await recorder.flush();
        for (const [correlation, lines] of added) {
          let all = [...(model.get(correlation) ?? []), ...lines];
          if (all.length > limit) {
            const marked = all[headSize]!.startsWith('#');
            const omitted = (marked ? Number(all[headSize]!.slice(1)) : 0) + (all.length - (marked ? headSize + 1 : headSize) - tailSize);
            all = [...all.slice(0, headSize), `#${omitted}`, ...all.slice(all.length - tailSize)];
          }
          model.set(correlation, all);
        }
        for (const correlation of correlations) {
          const value = await master.redis.hget(bucket, timelineStepsField(correlation));
          const expected = model.get(correlation);
          if (expected === undefined) {
            expect(value).toBeNull();
            continue;
          }
          const lines = value!.startsWith('[') ? [value!] : value!.split('\n');
          if (!value!.startsWith('[')) expect(Number(lines.shift()), `${correlation} after flush ${flush}`).toBe(lines.length);
          const read = lines.map((line) => (line.startsWith('#') ? line : String((JSON.parse(line) as [unknown, unknown, unknown, unknown, unknown, { i: number }])[5].i)));
          expect(read, `${correlation} after flush ${flush}`).toEqual(expected);
        }
      }
      expect(recorder.dropped).toBe(0);
      await recorder.close();
      master.recorder = undefined;
    }
    expect(steps).toBeGreaterThan(500);
  });
});
