/**
 * The entry state machine on its own, against a real redis-server: which transitions apply
 * from which states, what a conflict says, the version and retry-token rules, the counters
 * each transition moves, and the timeline step it records. The end-to-end files reach these
 * through the HTTP API; here each rule is pinned where it is decided.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { REDIS_ROLES, TimelineRecorder, createRedis, readTimeline, waitForRedis, type Redis } from '@event-infra/shared';
import { silentLogger, startRedisServer, type RedisServer } from '@event-infra/testing';
import { COUNTER_NAMES, DlqStore, type CounterName, type EntryStateRecord } from '../src/core/dlq-store';
import { EntryConflictError, EntryStateMachine, TRANSITIONS, type TransitionName, type VersionedEntry } from '../src/core/entry-state';
import { dlqKeys, type EntryStatus, type StoredEntry } from '../src/core/stored-entry';
import { storedEntry } from './support/stored-entries';

let sequence = 0;

function entry(status: EntryStatus, extra: Partial<StoredEntry> = {}): StoredEntry {
  sequence += 1;
  return storedEntry({ id: `state-${sequence}`, origin: 'state-q', status }, extra);
}

describe('entry state machine', () => {
  let server: RedisServer;
  let redis: Redis;
  let store: DlqStore;
  let machine: EntryStateMachine;

  beforeAll(async () => {
    server = await startRedisServer();
    redis = createRedis({ url: server.url, role: REDIS_ROLES.master, profile: 'producer', logger: silentLogger() });
    await waitForRedis(redis, 'master');
    store = new DlqStore(redis);
    machine = new EntryStateMachine(store);
  });
  beforeEach(async () => {
    await redis.flushall();
  });
  afterAll(async () => {
    redis.disconnect();
    await server.stop();
  });

  /** Drives a fresh entry to `state` through legal transitions; returns it as read back. */
  async function reach(state: EntryStatus | 'discarded'): Promise<VersionedEntry> {
    const first = await machine.apply('receive', undefined, entry(state === 'parked' ? 'parked' : 'scheduled'));
    if (state === 'scheduled' || state === 'parked') return first;
    if (state === 'discarded') {
      await machine.discard(first);
      return { entry: first.entry, state: (await store.state(first.entry.id))! };
    }
    const retried = await machine.apply('startRetry', first.state, { ...first.entry, status: 'retried' });
    if (state === 'retried') return retried;
    return machine.apply('recover', retried.state, { ...retried.entry, status: 'recovered' });
  }

  const counters = async (): Promise<Record<CounterName, number>> => store.counters();
  const delta = (before: Record<CounterName, number>, after: Record<CounterName, number>): Partial<Record<CounterName, number>> =>
    Object.fromEntries(COUNTER_NAMES.filter((name) => after[name] !== before[name]).map((name) => [name, after[name] - before[name]]));

  it('receive stores a new entry at version 1 with a fresh token, counted as received and by its status', async () => {
    for (const status of ['scheduled', 'parked'] as const) {
      const before = await counters();
      const next = entry(status);
      const applied = await machine.apply('receive', undefined, next);
      expect(applied.state).toEqual({ status, version: 1, token: expect.stringMatching(/^[0-9a-f]{32}$/) });
      expect(applied.entry.version).toBe(1);
      expect(await store.state(next.id)).toEqual(applied.state);
      expect((await store.get(next.id))?.version).toBe(1);
      expect(delta(before, await counters())).toEqual({ received: 1, [status]: 1 });
    }
  });

  it('receive of an id that exists already loses with a conflict naming the current state and version', async () => {
    const first = await reach('scheduled');
    const again = { ...first.entry, version: 0 };
    const error = await machine.apply('receive', undefined, again).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(EntryConflictError);
    expect((error as Error).name).toBe('EntryConflictError');
    expect(error).toMatchObject({ code: 'conflict', details: { id: first.entry.id, status: 'scheduled', version: 1 } });
    expect((error as Error).message).toContain('receive does not apply');
  });

  it('every transition applies from exactly its listed states, and loses with a 409 conflict from every other', async () => {
    const targets: Record<TransitionName, EntryStatus> = {
      receive: 'scheduled',
      failAgain: 'parked',
      startRetry: 'retried',
      retrySent: 'retried',
      sendFailed: 'scheduled',
      recover: 'recovered',
      park: 'parked',
      discard: 'parked',
      reindex: 'parked',
    };
    const states = ['scheduled', 'parked', 'retried', 'recovered', 'discarded'] as const;
    for (const name of Object.keys(TRANSITIONS) as TransitionName[]) {
      // receive starts from no entry; reindex keeps any status (its backfill is pinned in dlq-console-query.test.ts).
      if (name === 'receive' || name === 'reindex') continue;
      for (const state of states) {
        const current = await reach(state);
        const attempt =
          name === 'discard'
            ? machine.discard(current)
            : machine.apply(name, current.state, { ...current.entry, status: targets[name] });
        const outcome = await attempt.then(
          () => 'applied',
          (caught: unknown) => caught,
        );
        if ((TRANSITIONS[name].from as readonly string[]).includes(state)) {
          expect(outcome, `${name} from ${state}`).toBe('applied');
          expect((await store.state(current.entry.id))?.version, `${name} from ${state}`).toBe(current.state.version + 1);
        } else {
          expect(outcome, `${name} from ${state}`).toBeInstanceOf(EntryConflictError);
          expect(outcome).toMatchObject({ details: { status: state, version: current.state.version } });
        }
      }
    }
  });

  it('a transition computed from an older version loses, even from an allowed state', async () => {
    const first = await reach('scheduled');
    const retried = await machine.apply('startRetry', first.state, { ...first.entry, status: 'retried' });
    await machine.apply('retrySent', retried.state, { ...retried.entry });
    // Same state (retried), one version behind: the stale writer loses.
    const stale = await machine.apply('recover', retried.state, { ...retried.entry, status: 'recovered' }).catch((caught: unknown) => caught);
    expect(stale).toMatchObject({ code: 'conflict', details: { status: 'retried', version: 3 } });
    const staleDiscard = await machine.discard(first).catch((caught: unknown) => caught);
    expect(staleDiscard).toBeInstanceOf(EntryConflictError);
    expect(staleDiscard).toMatchObject({ details: { status: 'retried', version: 3 } });
  });

  it('refuses a target state the transition cannot lead to, before touching Redis', async () => {
    const first = await reach('scheduled');
    await expect(machine.apply('startRetry', first.state, { ...first.entry, status: 'parked' })).rejects.toThrow('startRetry cannot lead to parked');
    await expect(machine.apply('recover', first.state, { ...first.entry, status: 'scheduled' })).rejects.toThrow('recover cannot lead to scheduled');
    expect(await store.state(first.entry.id)).toEqual(first.state);
  });

  it('the token is renewed on scheduled and parked, kept while retried, and cleared when the entry is recovered', async () => {
    const first = await reach('scheduled');
    const retried = await machine.apply('startRetry', first.state, { ...first.entry, status: 'retried' });
    expect(retried.state.token).toBe(first.state.token);
    const sent = await machine.apply('retrySent', retried.state, { ...retried.entry });
    expect(sent.state.token).toBe(first.state.token);
    const back = await machine.apply('sendFailed', sent.state, { ...sent.entry, status: 'scheduled' });
    expect(back.state.token).toMatch(/^[0-9a-f]{32}$/);
    expect(back.state.token).not.toBe(first.state.token);
    const parked = await machine.apply('park', back.state, { ...back.entry, status: 'parked' });
    expect(parked.state.token).not.toBe(back.state.token);
    const again = await machine.apply('startRetry', parked.state, { ...parked.entry, status: 'retried' });
    const recovered = await machine.apply('recover', again.state, { ...again.entry, status: 'recovered' });
    expect(recovered.state.token).toBe('');
    expect(await store.state(first.entry.id)).toEqual({ status: 'recovered', version: 7, token: '' });
  });

  it('startRetry from a state record without a token gives the retry a token of its own', async () => {
    const next = entry('scheduled');
    // As an entry stored before tokens existed would read: a state record with an empty token.
    await store.transition({ id: next.id, entry: { ...next, version: 1 }, from: ['new'], to: 'scheduled', expectedVersion: 0, token: '-' });
    const from: EntryStateRecord = (await store.state(next.id))!;
    expect(from.token).toBe('');
    const retried = await machine.apply('startRetry', from, { ...next, status: 'retried' });
    expect(retried.state.token).toMatch(/^[0-9a-f]{32}$/);
    expect((await store.state(next.id))?.token).toBe(retried.state.token);
  });

  it('each transition moves its own counters: failAgain counts a failure, retrySent nothing, discard a deletion', async () => {
    const first = await reach('scheduled');
    let before = await counters();
    const retried = await machine.apply('startRetry', first.state, { ...first.entry, status: 'retried' });
    expect(delta(before, await counters())).toEqual({ retried: 1 });
    before = await counters();
    const sent = await machine.apply('retrySent', retried.state, { ...retried.entry });
    expect(delta(before, await counters())).toEqual({});
    before = await counters();
    const failed = await machine.apply('failAgain', sent.state, { ...sent.entry, status: 'scheduled' });
    expect(delta(before, await counters())).toEqual({ received: 1, scheduled: 1 });
    before = await counters();
    const retriedAgain = await machine.apply('startRetry', failed.state, { ...failed.entry, status: 'retried' });
    const recovered = await machine.apply('recover', retriedAgain.state, { ...retriedAgain.entry, status: 'recovered' });
    expect(delta(before, await counters())).toEqual({ retried: 1, recovered: 1 });
    before = await counters();
    await machine.discard(recovered);
    expect(delta(before, await counters())).toEqual({ deleted: 1 });
  });

  it('a machine without a timeline applies transitions of correlated entries; only known counters are touched', async () => {
    const applied = await machine.apply('receive', undefined, entry('parked', { correlationId: 'corr-none', parkReason: 'permanent' }));
    expect(applied.state.status).toBe('parked');
    await machine.discard(applied);
    expect(Object.keys(await redis.hgetall(dlqKeys.counters())).every((name) => (COUNTER_NAMES as readonly string[]).includes(name))).toBe(true);
  });

  it('discard removes the entry and every index, and keeps a discarded state record that no later transition passes', async () => {
    const parked = await reach('parked');
    await machine.discard(parked);
    expect(await store.get(parked.entry.id)).toBeUndefined();
    expect(await redis.zscore(dlqKeys.indexAll(), parked.entry.id)).toBeNull();
    expect(await redis.zscore(dlqKeys.indexStatus('parked'), parked.entry.id)).toBeNull();
    const state = await store.state(parked.entry.id);
    expect(state).toEqual({ status: 'discarded', version: 2, token: '' });
    await expect(machine.apply('startRetry', state!, { ...parked.entry, status: 'retried' })).rejects.toBeInstanceOf(EntryConflictError);
    await expect(machine.apply('receive', undefined, { ...parked.entry, status: 'scheduled' })).rejects.toBeInstanceOf(EntryConflictError);
  });
});

describe('entry state machine timeline', () => {
  let server: RedisServer;
  let redis: Redis;

  beforeAll(async () => {
    server = await startRedisServer();
    redis = createRedis({ url: server.url, role: REDIS_ROLES.master, profile: 'producer', logger: silentLogger() });
    await waitForRedis(redis, 'master');
  });
  afterAll(async () => {
    redis.disconnect();
    await server.stop();
  });

  it('records one step per applied transition (none for a lost one), named by kind, with the entry as subject', async () => {
    const timeline = new TimelineRecorder({ service: 'dlq-processor', retentionSec: 60, maxSteps: 100, flushIntervalMs: 5 }, { redis, logger: silentLogger() });
    const machine = new EntryStateMachine(new DlqStore(redis), timeline);
    const first = entry('parked', { correlationId: 'corr-1', causationId: 'job:state-q:1', parkReason: 'permanent', classification: 'permanent' });
    const parked = await machine.apply('receive', undefined, first);
    const retried = await machine.apply('startRetry', parked.state, { ...parked.entry, status: 'retried', retries: 1 });
    await machine.apply('startRetry', parked.state, { ...parked.entry, status: 'retried' }).catch(() => undefined);
    const retriedTo = { kind: 'event' as const, stream: 's', eventId: 'e', streamId: '1-0' };
    const sent = await machine.apply('retrySent', retried.state, { ...retried.entry, retriedTo });
    const recovered = await machine.apply('recover', sent.state, { ...sent.entry, status: 'recovered' });
    await machine.discard(recovered);
    // An entry without a correlation records nothing.
    await machine.apply('receive', undefined, entry('scheduled'));
    await timeline.close();
    // Only the correlated entry has a timeline (nothing recorded under an undefined correlation).
    expect((await redis.keys('*timeline*undefined*')).length).toBe(0);

    const steps = (await readTimeline(redis, 'corr-1', 200))?.steps ?? [];
    expect(steps.map((step) => [step.kind, step.detail?.transition, step.detail?.status])).toEqual([
      ['dlq.received', 'receive', 'parked'],
      ['dlq.transition', 'startRetry', 'retried'],
      ['dlq.retry-sent', 'retrySent', 'retried'],
      ['dlq.recovered', 'recover', 'recovered'],
      ['dlq.transition', 'discard', 'discarded'],
    ]);
    expect(steps[0]).toMatchObject({ subject: first.id, cause: 'job:state-q:1', detail: { classification: 'permanent', retries: 0, parkReason: 'permanent' } });
    expect(steps[1]?.detail).toEqual({ transition: 'startRetry', status: 'retried', classification: 'permanent', retries: 1 });
    expect(steps[2]?.detail).toMatchObject({ retriedTo });
    expect(steps[3]?.detail).not.toHaveProperty('retriedTo');
  });
});
