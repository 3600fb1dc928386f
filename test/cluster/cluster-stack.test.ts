/**
 * The stack in local mode on one Redis Cluster (STACK_REDIS_CLUSTER=1: 3 masters with a replica
 * each, AOF and passwords on), run by `npm run test:cluster` (EVINFRA_TEST_REDIS_CLUSTER=1).
 * With one stream: every check of test-event-infrastructure.sh passes (jobs, the DLQ flow, events,
 * triggers, fan-out, a 100-event batch; the restart checks aside), a replay to a new group reads
 * the whole log, and the audit log holds the DLQ retry and the replay. With 8 partitions: events
 * published in batches that span every partition's slot are each handled and fanned out once,
 * nothing pending, and a replay to the handlers goes over all 8 partitions. The run's global
 * setup then fails the run if any log of these stacks holds a cross-slot or redirection error.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  EVENT_CHANNEL_PATTERN,
  REDIS_ROLES,
  createEventPublisher,
  partitionStreams,
  waitForAll,
  type EventInput,
  type RedisClient,
} from '@event-infra/shared';
import { silentLogger, waitFor } from '@event-infra/testing';
import { ROOT, STACK, onCluster, run, stackClient, stackEnv } from '../support/stack-runner';

const CHECKS = join(ROOT, 'test-event-infrastructure.sh');
const API_KEY = 'cluster-test-key';
const auth = { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' };

interface ReplayTask {
  id: string;
  state: string;
  handled: number;
}

/** Starts a cluster stack with `overrides`; returns its env (stopped by `stop`). */
async function startStack(dir: string, overrides: NodeJS.ProcessEnv): Promise<NodeJS.ProcessEnv> {
  const env = await stackEnv(dir, { API_KEY, LOG_LEVEL: 'info', STREAM_RETENTION_MS: '3600000', ...overrides });
  const up = await run('bash', [STACK, 'up'], env, 180_000);
  if (up.code !== 0) {
    await run('bash', [STACK, 'down'], env, 90_000);
    throw new Error(`stack.sh up failed (${up.code}):\n${up.stdout}\n${up.stderr}`);
  }
  return env;
}

async function replay(env: NodeJS.ProcessEnv, body: Record<string, unknown>): Promise<ReplayTask> {
  const base = `http://127.0.0.1:${env.EVENT_PROCESSOR_PORT}`;
  const created = await fetch(`${base}/replay`, { method: 'POST', headers: auth, body: JSON.stringify(body) });
  expect(created.status, await created.clone().text()).toBe(202);
  const { id } = (await created.json()) as ReplayTask;
  return waitFor(
    async () => {
      const task = (await (await fetch(`${base}/replay/${id}`, { headers: auth })).json()) as ReplayTask;
      return task.state === 'completed' ? task : undefined;
    },
    `replay ${id} completed`,
    { timeoutMs: 60_000, intervalMs: 200 },
  );
}

describe('the stack on a Redis Cluster', () => {
  beforeAll(() => {
    if (!onCluster) throw new Error('run through npm run test:cluster (EVINFRA_TEST_REDIS_CLUSTER=1)');
  });

  let dir: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'evinfra-cluster-'));
  });

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  describe('one stream', () => {
    let env: NodeJS.ProcessEnv;

    beforeAll(async () => {
      env = await startStack(join(dir, 'single'), {});
    }, 240_000);

    afterAll(async () => {
      if (env) expect((await run('bash', [STACK, 'down'], env, 90_000)).code).toBe(0);
    }, 120_000);

    it('passes every check of test-event-infrastructure.sh but the restarts', async () => {
      const result = await run(CHECKS, ['--no-restart'], env, 240_000);
      const checks = result.stdout.split('\n').filter((line) => /^(PASS|FAIL) /.test(line));
      expect(checks.length).toBeGreaterThanOrEqual(30);
      expect(checks.filter((line) => !line.startsWith('PASS ')), result.stdout).toEqual([]);
      expect(result.code, result.stderr).toBe(0);
    }, 300_000);

    it('replays the log to a new group and audits the replay and the DLQ retry', async () => {
      const task = await replay(env, { from: '0', target: 'group', group: 'cluster-replay' });
      expect(task.state).toBe('completed');
      const audit = async (action: string): Promise<unknown[]> => {
        const response = await fetch(`http://127.0.0.1:${env.QUEUE_PROCESSOR_PORT}/audit?action=${action}`, { headers: auth });
        expect(response.status).toBe(200);
        return ((await response.json()) as { items: unknown[] }).items;
      };
      expect((await audit('replay.create')).length).toBeGreaterThanOrEqual(1);
      // The check script retried a parked entry: the transition script wrote its record.
      expect((await audit('dlq.retry')).length).toBeGreaterThanOrEqual(1);
    }, 90_000);

    it('stack.sh restart redis-queue restarts every node in turn, masters handing over first; a delayed job survives', async () => {
      const base = Number(env.STACK_CLUSTER_PORT_BASE);
      const ports = Array.from({ length: 6 }, (_, index) => base + index);
      const node = (port: number): RedisClient => stackClient({ ...env, REDIS_QUEUE_URL: `redis://127.0.0.1:${port}`, REDIS_QUEUE_CLUSTER_NODES: '' }, REDIS_ROLES.queue, 'consumer', silentLogger());
      const serverFacts = async (): Promise<{ runId: string; role: string }[]> =>
        Promise.all(
          ports.map(async (port) => {
            const client = node(port);
            try {
              const info = `${await client.info('server')}${await client.info('replication')}`;
              return { runId: /run_id:(\w+)/.exec(info)![1]!, role: /role:(\w+)/.exec(info)![1]! };
            } finally {
              client.disconnect();
            }
          }),
        );
      const before = await serverFacts();
      const jobId = `restart-${Date.now()}`;
      const added = await fetch(`http://127.0.0.1:${env.QUEUE_PROCESSOR_PORT}/jobs/async-processing`, {
        method: 'POST',
        headers: auth,
        body: JSON.stringify({ name: 'demo.sleep', data: { durationMs: 10 }, opts: { jobId, delay: 3_000 } }),
      });
      expect(added.status, await added.clone().text()).toBe(201);

      const restarted = await run('bash', [STACK, 'restart', 'redis-queue'], env, 180_000);
      expect(restarted.code, restarted.stderr).toBe(0);
      const after = await serverFacts();
      // Every node is a new process; each master handed its slots to its replica before it stopped.
      expect(after.map((facts, index) => facts.runId !== before[index]!.runId)).toEqual(ports.map(() => true));
      expect(after.map((facts) => facts.role).sort()).toEqual(['master', 'master', 'master', 'slave', 'slave', 'slave']);
      // Each node is a master when its turn comes (the first three are; their replicas were
      // promoted by the hand-overs), so six manual failovers, each accepted by a replica.
      const handOvers = ports
        .map((_, index) => readFileSync(join(env.STACK_LOG_DIR!, `redis-cluster-${index + 1}.log`), 'utf8').split('Manual failover user request accepted').length - 1)
        .reduce((sum, count) => sum + count, 0);
      expect(handOvers).toBe(6);
      const job = await waitFor(
        async () => {
          const response = await fetch(`http://127.0.0.1:${env.QUEUE_PROCESSOR_PORT}/jobs/async-processing/${jobId}`, { headers: auth });
          const body = (await response.json()) as { state?: string };
          return body.state === 'completed' ? body : undefined;
        },
        `job ${jobId} completed after the rolling restart`,
        { timeoutMs: 30_000, intervalMs: 200 },
      );
      expect(job.state).toBe('completed');
      const status = await run('bash', [STACK, 'status'], env, 30_000);
      expect(status.code, status.stdout).toBe(0);
    }, 240_000);
  });

  describe('8 partitions, 2 event processors', () => {
    const PARTITIONS = 8;
    const EVENTS = 400;
    let env: NodeJS.ProcessEnv;
    let streams: RedisClient | undefined;
    let master: RedisClient | undefined;

    beforeAll(async () => {
      env = await startStack(join(dir, 'partitions'), { STREAM_PARTITIONS: String(PARTITIONS), EVENT_PROCESSOR_REPLICAS: '2' });
      streams = stackClient(env, REDIS_ROLES.streams, 'producer', silentLogger());
      master = stackClient(env, REDIS_ROLES.master, 'consumer', silentLogger());
      await waitForAll({ streams, master }, 10_000);
    }, 240_000);

    afterAll(async () => {
      streams?.disconnect();
      master?.disconnect();
      if (env) expect((await run('bash', [STACK, 'down'], env, 90_000)).code).toBe(0);
    }, 120_000);

    it(`handles ${EVENTS} events over ${PARTITIONS} partitions once each, and replays all of them`, async () => {
      const fannedOut = new Map<string, number>();
      master!.on('pmessage', (_pattern: string, _channel: string, message: string) => {
        const id = (JSON.parse(message) as { id: string }).id;
        fannedOut.set(id, (fannedOut.get(id) ?? 0) + 1);
      });
      await master!.psubscribe(EVENT_CHANNEL_PATTERN);
      const publisher = createEventPublisher(
        { stream: env.STREAM_NAME ?? 'pyairtable-events', source: 'cluster-test', partitions: PARTITIONS },
        { redis: streams!, logger: silentLogger() },
      );
      const ids: string[] = [];
      for (let offset = 0; offset < EVENTS; offset += 100) {
        // One batch spans every partition (40 keys), so every slot of the log in one go.
        const batch: EventInput[] = Array.from({ length: 100 }, (_, index) => ({
          type: 'user.updated',
          subject: `user-${(offset + index) % 40}`,
          data: { userId: `u-${offset + index}`, changes: { n: offset + index } },
        }));
        for (const published of await publisher.publishBatch(batch)) ids.push(published.id);
      }
      await waitFor(() => ids.every((id) => fannedOut.has(id)), `all ${EVENTS} events fanned out`, { timeoutMs: 90_000, intervalMs: 100 });
      expect([...fannedOut.values()].filter((count) => count !== 1)).toEqual([]);
      for (const stream of partitionStreams(env.STREAM_NAME ?? 'pyairtable-events', PARTITIONS)) {
        expect(await streams!.xlen(stream), stream).toBeGreaterThan(0);
        const [pending] = (await streams!.xpending(stream, env.CONSUMER_GROUP ?? 'event-processors')) as [number];
        expect(pending, stream).toBe(0);
      }

      const task = await replay(env, { from: '0', target: 'handlers', types: 'user.*', ratePerSec: 10_000 });
      expect(task.handled).toBe(EVENTS);
    }, 180_000);
  });
});
