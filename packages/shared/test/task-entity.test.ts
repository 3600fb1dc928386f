/**
 * The task-entity helpers the DLQ redrive task and the event-log replay task share: the hash
 * codec, the transition runner with its refusal (409) mapping, and the claim loop of a
 * lease-fenced runner. Each task kind's own transitions are tested in its service.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  AppError,
  NotFoundError,
  TaskTransition,
  TransitionConflictError,
  claimAndRun,
  closeRedis,
  createRedis,
  taskHashCodec,
  waitForRedis,
  type Redis,
} from '@event-infra/shared';
import { silentLogger, uniqueName } from '@event-infra/testing';

interface DemoTask {
  id: string;
  state: 'running' | 'done';
  version: number;
  updatedAt: string;
  cursor: Record<string, string>;
  owner: string | null;
  count: number;
  note: string;
}

const codec = taskHashCodec<DemoTask>({ stateField: 'state', updatedAtField: 'updatedAtMs', jsonFields: ['cursor'], numberFields: ['version', 'count'], nullableFields: ['owner'] });

describe('task hash codec', () => {
  it('encodes the fields the caller writes, never the state, version or time the script owns', () => {
    const fields = codec.encode({ state: 'done', version: 9, updatedAt: 'x', cursor: { s: '1-0' }, owner: null, count: 3, note: 'n' });
    expect(fields).toEqual(['cursor', '{"s":"1-0"}', 'owner', '', 'count', '3', 'note', 'n']);
  });

  it('decodes JSON, numbers and nulls, and the write time (ms) as an ISO updatedAt', () => {
    const hash = { id: 't', state: 'running', version: '2', updatedAtMs: '1700000000000', cursor: '{"s":"2-0"}', owner: '', count: '5', note: 'n' };
    expect(codec.decode(hash)).toEqual({ id: 't', state: 'running', version: 2, updatedAt: '2023-11-14T22:13:20.000Z', cursor: { s: '2-0' }, owner: null, count: 5, note: 'n' });
    const named = taskHashCodec<DemoTask>({ stateField: 'state', updatedAtField: 'updatedAt', jsonFields: [], numberFields: [], nullableFields: ['owner'] });
    expect(named.decode({ updatedAt: '0', owner: 'me' })).toEqual({ updatedAt: '1970-01-01T00:00:00.000Z', owner: 'me' });
  });
});

describe('task transition', () => {
  let redis: Redis;
  const transition = new TaskTransition(new URL('./fixtures/task-fixture-1.lua', import.meta.url), codec);
  const refused = (reply: readonly string[]) => new TransitionConflictError(`refused ${reply.join(' ')}`, { reply });

  beforeAll(async () => {
    redis = createRedis({ url: inject('redis').streams, role: 'redis-streams', profile: 'producer', logger: silentLogger() });
    await waitForRedis(redis, 'redis-streams', 5_000);
  });
  afterAll(async () => {
    await closeRedis(redis);
  });

  it('resolves with the task as the write left it, and maps a refusal to a 409 conflict', async () => {
    const key = uniqueName('task');
    const created = await transition.run(redis, [key], ['0', 'running', 1_000], { id: 'a', cursor: {}, owner: 'me', count: 0, note: '' }, refused);
    expect(created).toEqual({ id: 'a', state: 'running', version: 1, updatedAt: new Date(1_000).toISOString(), cursor: {}, owner: 'me', count: 0, note: '' });
    expect(await redis.hget(key, 'cursor')).toBe('{}');
    const next = await transition.run(redis, [key], ['1', 'done', 2_000], { owner: null, count: 4 }, refused);
    expect(next).toMatchObject({ state: 'done', version: 2, owner: null, count: 4 });

    const stale = await transition.run(redis, [key], ['1', 'running', 3_000], { count: 99 }, refused).catch((caught: unknown) => caught);
    expect(stale).toBeInstanceOf(TransitionConflictError);
    expect(stale).toBeInstanceOf(AppError);
    expect(stale).toMatchObject({ code: 'conflict', details: { reply: ['conflict', 'done', '2'] } });
    expect(await redis.hget(key, 'count')).toBe('4');
    await redis.del(key);
  });
});

describe('claimAndRun', () => {
  it('passes over a task held elsewhere or gone, runs each claimed one before the next, and stops when told', async () => {
    const seen: string[] = [];
    let stopping = false;
    await claimAndRun(['held', 'gone', 'one', 'two', 'three'], {
      claim: async (id) => {
        seen.push(`claim ${id}`);
        if (id === 'held') throw new TransitionConflictError('held by another runner');
        if (id === 'gone') throw new NotFoundError('gone');
        return id;
      },
      run: async (task) => {
        seen.push(`run ${task}`);
        if (task === 'two') stopping = true;
      },
      isStopping: () => stopping,
    });
    expect(seen).toEqual(['claim held', 'claim gone', 'claim one', 'run one', 'claim two', 'run two']);
  });

  it('ends the poll on any other error', async () => {
    const ran: string[] = [];
    const poll = claimAndRun(['broken', 'next'], {
      claim: async (id) => {
        if (id === 'broken') throw new Error('redis down');
        return id;
      },
      run: async (task) => {
        ran.push(task);
      },
      isStopping: () => false,
    });
    await expect(poll).rejects.toThrow('redis down');
    expect(ran).toEqual([]);
  });
});
