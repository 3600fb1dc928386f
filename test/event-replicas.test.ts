/**
 * Scale-out in local mode: `EVENT_PROCESSOR_REPLICAS=3 scripts/stack.sh up` starts three event
 * processors in ONE consumer group. 2,000 events published to the stream are each handled
 * exactly once across them: every replica's consumers are in the group, each replica took a
 * share, the replicas' `processed` counters sum to 2,000, each event is fanned out once, and
 * nothing stays pending. Reclaims are ruled out for the run (EVENT_CLAIM_IDLE_MS of 10 min),
 * so "exactly once" is what the group itself guarantees.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  EVENT_CHANNEL_PATTERN,
  REDIS_ROLES,
  createEventPublisher,
  waitForAll,
  type EventInput,
  type RedisClient,
} from '@event-infra/shared';
import { silentLogger, waitFor } from '@event-infra/testing';
import { STACK, recordedPids, run, stackClient, stackEnv, stackUp } from './support/stack-runner';

const REPLICAS = 3;
const EVENTS = 2_000;

interface ReplicaStats {
  counters: { processed: number; duplicates: number; reclaimed: number; failed: number; deadLettered: number };
}

describe(`local mode with EVENT_PROCESSOR_REPLICAS=${REPLICAS}`, () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let streams: RedisClient | undefined;
  let master: RedisClient | undefined;
  const stream = 'pyairtable-events';
  const group = 'event-processors';

  /** The HTTP port of replica k (1-based): the first on EVENT_PROCESSOR_PORT, then the base. */
  const replicaUrl = (k: number) =>
    `http://127.0.0.1:${k === 1 ? env.EVENT_PROCESSOR_PORT : Number(env.EVENT_PROCESSOR_REPLICA_PORT_BASE) + k - 2}`;
  const replicaName = (k: number) => (k === 1 ? 'event-processor' : `event-processor-${k}`);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'evinfra-replicas-'));
    env = await stackEnv(
      dir,
      {
        EVENT_PROCESSOR_REPLICAS: String(REPLICAS),
        STREAM_NAME: stream,
        CONSUMER_GROUP: group,
        // No reclaim during the run: an entry is only ever delivered to the consumer that read it.
        EVENT_CLAIM_IDLE_MS: '600000',
        LOG_LEVEL: 'warn',
      },
      REPLICAS - 1,
    );
    await stackUp(env);
    const logger = silentLogger();
    streams = stackClient(env, REDIS_ROLES.streams, 'producer', logger);
    master = stackClient(env, REDIS_ROLES.master, 'consumer', logger);
    await waitForAll({ streams, master }, 10_000);
  }, 240_000);

  afterAll(async () => {
    streams?.disconnect();
    master?.disconnect();
    if (env) {
      const down = await run('bash', [STACK, 'down'], env, 90_000);
      expect(down.code, down.stderr).toBe(0);
    }
    rmSync(dir, { recursive: true, force: true });
  }, 120_000);

  const stats = async (k: number): Promise<ReplicaStats> => {
    const response = await fetch(`${replicaUrl(k)}/stats`);
    expect(response.status).toBe(200);
    return (await response.json()) as ReplicaStats;
  };

  it('starts one process per replica, each healthy on its own port', async () => {
    const pids = recordedPids(env);
    for (let k = 1; k <= REPLICAS; k += 1) {
      expect(pids.get(replicaName(k)), replicaName(k)).toBeGreaterThan(0);
      expect((await fetch(`${replicaUrl(k)}/health`)).status, replicaName(k)).toBe(200);
    }
    expect(new Set([...pids.entries()].filter(([name]) => name.startsWith('event-processor')).map(([, pid]) => pid)).size).toBe(REPLICAS);
  });

  it(`handles ${EVENTS} events exactly once across the replicas of one group`, async () => {
    const before = await Promise.all(Array.from({ length: REPLICAS }, (_, index) => stats(index + 1)));

    // Fan-out: every handled event is PUBLISHed once on its type's channel on the master.
    const fannedOut = new Map<string, number>();
    master!.on('pmessage', (_pattern: string, _channel: string, message: string) => {
      const id = (JSON.parse(message) as { id: string }).id;
      fannedOut.set(id, (fannedOut.get(id) ?? 0) + 1);
    });
    await master!.psubscribe(EVENT_CHANNEL_PATTERN);

    const publisher = createEventPublisher({ stream, source: 'replica-test' }, { redis: streams!, logger: silentLogger() });
    const ids = new Set<string>();
    for (let offset = 0; offset < EVENTS; offset += 500) {
      const batch: EventInput[] = Array.from({ length: 500 }, (_, index) => ({
        type: 'user.updated',
        data: { userId: `u-${offset + index}`, changes: { n: offset + index } },
      }));
      for (const published of await publisher.publishBatch(batch)) ids.add(published.id);
    }
    expect(ids.size).toBe(EVENTS);

    await waitFor(() => [...ids].every((id) => fannedOut.has(id)), `all ${EVENTS} events fanned out`, { timeoutMs: 90_000 });
    // Nothing of the group left pending, nothing left undelivered.
    await waitFor(async () => {
      const summary = (await streams!.xpending(stream, group)) as [number, ...unknown[]];
      const groups = (await streams!.xinfo('GROUPS', stream)) as unknown[][];
      const info = groups.find((entry) => entry[1] === group)!;
      return summary[0] === 0 && info[info.indexOf('lag') + 1] === 0;
    }, 'group pending 0 and lag 0', { timeoutMs: 20_000 });

    // Exactly once: each of our events published once on pub/sub.
    expect([...ids].filter((id) => fannedOut.get(id) !== 1)).toEqual([]);

    // The replicas' counters: all processed, split between them, no reclaim, no duplicate.
    const after = await Promise.all(Array.from({ length: REPLICAS }, (_, index) => stats(index + 1)));
    const delta = (k: number, counter: keyof ReplicaStats['counters']) => after[k]!.counters[counter] - before[k]!.counters[counter];
    const processed = after.map((_, k) => delta(k, 'processed'));
    expect(processed.reduce((sum, value) => sum + value, 0)).toBe(EVENTS);
    for (let k = 0; k < REPLICAS; k += 1) {
      expect(processed[k], `${replicaName(k + 1)} took a share`).toBeGreaterThan(0);
      expect(delta(k, 'reclaimed'), replicaName(k + 1)).toBe(0);
      expect(delta(k, 'duplicates'), replicaName(k + 1)).toBe(0);
      expect(delta(k, 'deadLettered'), replicaName(k + 1)).toBe(0);
    }

    // XINFO CONSUMERS: each replica's consumer loops are members of the one group, named
    // <hostname>-<pid>-<random>-<n>, so the pid tells the replicas apart.
    const consumers = ((await streams!.xinfo('CONSUMERS', stream, group)) as unknown[][]).map((entry) => String(entry[1]));
    const pids = recordedPids(env);
    for (let k = 1; k <= REPLICAS; k += 1) {
      const pid = pids.get(replicaName(k))!;
      const own = consumers.filter((name) => name.includes(`-${pid}-`));
      expect(own.length, `${replicaName(k)} (pid ${pid}) in XINFO CONSUMERS: ${consumers.join(', ')}`).toBeGreaterThanOrEqual(1);
    }
    await master!.punsubscribe();
  }, 180_000);
});
