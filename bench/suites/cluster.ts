/**
 * Single Redis vs the local Redis Cluster (issue 17), in one run. Two stacks through
 * `scripts/stack.sh` (local mode, as a user runs it): one with one redis-server per role, one
 * with STACK_REDIS_CLUSTER=1 (6 nodes: 3 masters with a replica each, AOF on, cluster-node-timeout
 * 2000). The same services, env and handlers on both (`bench.noop` from bench/fixtures, job
 * events and fan-out off, 8 stream partitions); both stacks stay up and the sides alternate per
 * round, so the machine's other load falls on both:
 * - job drain: the queue processor is paused (SIGSTOP), N no-op jobs are added over the three
 *   work queues (on the cluster each queue is its own hash slot, spread over the masters), the
 *   clock starts at SIGCONT and stops when no queue has anything waiting, active or delayed;
 * - event drain: same pause/fill/resume with N events over 8 partition streams, until the group
 *   has read every partition to its end and has nothing pending;
 * - failover (cluster only, after the single stack is down): `kill -9` of the master holding a
 *   role's slot (queue: `bull:{async-processing}`, master: `{evinfra}`, streams: the probe
 *   event's partition stream),
 *   then the time to the stack's first successful write through its promoted replica (a POST
 *   started every 50 ms after the kill that writes to that slot) and to the promotion seen in
 *   CLUSTER SLOTS; `stack.sh up` restarts the killed node (it rejoins as a replica) and waits
 *   until the cluster is whole before the next round.
 * Both stacks are stopped (`stack.sh down`) and their temp dirs removed, whatever happens.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import {
  REDIS_ROLES,
  WORK_QUEUES,
  bullPrefix,
  clusterSlotOf,
  createEventPublisher,
  partitionOf,
  partitionStreams,
  waitForAll,
  type Cluster,
  type EventInput,
  type RedisClient,
} from '@event-infra/shared';
import { SAMPLE_EVENT_DATA, silentLogger } from '@event-infra/testing';
import { ROOT, STACK, recordedPids, run, slotMasterPort, stackClient, stackEnv, stackUp } from '../../test/support/stack-runner';
import { median, pollUntil } from '../lib/stats';
import type { BenchRow, BenchSuite } from '../types';

const API_KEY = 'bench-cluster-key';
// A human principal's POST /jobs is audited: it writes to the master role's {evinfra} slot first.
const ADMIN = { user: 'bench-admin', password: 'bench-admin-password-1' };
const PARTITIONS = 8;
const STREAM = 'bench-cluster-events';
const GROUP = 'bench-cluster-group';
const CONCURRENCY = 100;
/** The issue's target for kill → first write with cluster-node-timeout 2000. */
const FAILOVER_TARGET_SEC = 5;
const PROBE_SUBJECT = 'bench-probe';

interface Side {
  name: 'single' | 'cluster';
  env: NodeJS.ProcessEnv;
  queue: RedisClient;
  streams: RedisClient;
  master: RedisClient;
  queues: Queue[];
}

function pid(side: Side, name: string): number {
  const found = recordedPids(side.env).get(name);
  if (!found) throw new Error(`${side.name}: no pid recorded for ${name}`);
  return found;
}

/** Runs `body` with the service paused (SIGSTOP) and resumes it (SIGCONT) whatever happens. */
async function paused<T>(servicePid: number, body: () => Promise<T>): Promise<T> {
  process.kill(servicePid, 'SIGSTOP');
  try {
    return await body();
  } finally {
    process.kill(servicePid, 'SIGCONT');
  }
}

async function jobsLeft(queues: Queue[]): Promise<number> {
  let left = 0;
  for (const queue of queues) {
    const counts = await queue.getJobCounts('wait', 'active', 'delayed', 'prioritized', 'waiting-children');
    left += Object.values(counts).reduce((sum, count) => sum + count, 0);
  }
  return left;
}

/** Jobs/s: `count` no-op jobs over the work queues added while the queue processor is paused. */
async function drainJobs(side: Side, count: number): Promise<number> {
  const perQueue = Math.ceil(count / side.queues.length);
  await paused(pid(side, 'queue-processor'), async () => {
    for (const queue of side.queues) {
      for (let added = 0; added < perQueue; added += 1000) {
        await queue.addBulk(Array.from({ length: Math.min(1000, perQueue - added) }, (_, index) => ({ name: 'bench.noop', data: { n: added + index } })));
      }
    }
  });
  const started = performance.now();
  await pollUntil(async () => (await jobsLeft(side.queues)) === 0, 300_000, `${side.name}: the queue processor to drain`, 20);
  const rate = (perQueue * side.queues.length) / ((performance.now() - started) / 1000);
  for (const queue of side.queues) {
    const failed = (await queue.getJobCounts('failed')).failed ?? 0;
    if (failed > 0) throw new Error(`${side.name}: ${failed} bench jobs failed on ${queue.name}`);
    await queue.clean(0, 1_000_000, 'completed');
  }
  return rate;
}

/** Every partition read to its last entry by the group, nothing pending. */
async function eventsDone(side: Side): Promise<boolean> {
  for (const stream of partitionStreams(STREAM, PARTITIONS)) {
    const groups = (await side.streams.call('XINFO', 'GROUPS', stream).catch(() => [])) as unknown[][];
    const info = groups
      .map((flat) => Object.fromEntries(Array.from({ length: flat.length / 2 }, (_, i) => [String(flat[2 * i]), flat[2 * i + 1]])))
      .find((group) => group.name === GROUP);
    if (!info || Number(info.pending) > 0 || Number(info.lag ?? 1) > 0) return false;
  }
  return true;
}

function events(count: number, round: number): EventInput[] {
  // 500 subjects: every batch spans all 8 partitions (on the cluster, 8 slots).
  return Array.from({ length: count }, (_, i) => ({ type: 'workspace.created', subject: `workspace/ws_${(round * count + i) % 500}`, data: { ...SAMPLE_EVENT_DATA['workspace.created'] } }));
}

/** Events/s: `count` events over 8 partitions published while the event processor is paused. */
async function drainEvents(side: Side, count: number, round: number): Promise<number> {
  const publisher = createEventPublisher({ stream: STREAM, source: 'bench', partitions: PARTITIONS, maxLenApprox: 0 }, { redis: side.streams, logger: silentLogger() });
  await paused(pid(side, 'event-processor'), async () => {
    for (let offset = 0; offset < count; offset += 1000) await publisher.publishBatch(events(Math.min(1000, count - offset), round));
  });
  const started = performance.now();
  await pollUntil(() => eventsDone(side), 300_000, `${side.name}: the event processor to drain`, 10);
  const rate = count / ((performance.now() - started) / 1000);
  for (const stream of partitionStreams(STREAM, PARTITIONS)) await side.streams.xtrim(stream, 'MAXLEN', 0);
  return rate;
}

/** Starts one stack (cluster or not) with the bench's settings and opens the bench's own clients. */
async function startSide(name: Side['name'], dir: string, sides: Side[], envs: NodeJS.ProcessEnv[]): Promise<Side> {
  const env = await stackEnv(
    join(dir, name),
    {
      API_KEY,
      ADMIN_USER: ADMIN.user,
      ADMIN_PASSWORD: ADMIN.password,
      LOG_LEVEL: 'warn',
      JOB_HANDLERS_MODULE: join(ROOT, 'bench', 'dist', 'fixtures', 'noop-handlers.js'),
      PUBLISH_EVENTS: 'false',
      CONCURRENCY: String(CONCURRENCY),
      STREAM_NAME: STREAM,
      CONSUMER_GROUP: GROUP,
      STREAM_PARTITIONS: String(PARTITIONS),
      STREAM_RETENTION_MS: '3600000',
      // Longer than a pause while the events are published: no lease runs out meanwhile.
      EVENT_PARTITION_LEASE_MS: '60000',
      EVENT_BATCH_SIZE: '100',
      EVENT_FANOUT_ENABLED: 'false',
      EVENT_SCALE_INTERVAL_MS: '0',
      EVENT_TRIM_INTERVAL_MS: '0',
    },
    0,
    name === 'cluster',
  );
  envs.push(env);
  await stackUp(env);
  const logger = silentLogger();
  const queue = stackClient(env, REDIS_ROLES.queue, 'consumer', logger);
  const streams = stackClient(env, REDIS_ROLES.streams, 'consumer', logger);
  const master = stackClient(env, REDIS_ROLES.master, 'consumer', logger);
  const side: Side = {
    name,
    env,
    queue,
    streams,
    master,
    queues: WORK_QUEUES.map((queueName) => new Queue(queueName, { connection: queue, prefix: bullPrefix(queueName, queue.isCluster) })),
  };
  sides.push(side);
  await waitForAll({ queue, streams, master }, 30_000);
  return side;
}

async function closeSide(side: Side): Promise<void> {
  await Promise.allSettled(side.queues.map((queue) => queue.close()));
  for (const client of [side.queue, side.streams, side.master]) client.disconnect();
}

interface FailoverRound {
  firstWriteSec: number;
  promotedSec: number;
}

/**
 * One round: `kill -9` of the master holding `key`'s slot, then POSTs (one started every 50 ms,
 * each after the kill) to `path` until one succeeds, and CLUSTER SLOTS polled for the promotion;
 * then `stack.sh up` brings the killed node back as a replica and waits for a whole cluster.
 */
async function failover(side: Side, key: string, path: string, body: object, authorization: string): Promise<FailoverRound> {
  const admin = side.master as Cluster;
  const slot = clusterSlotOf(key);
  const port = await slotMasterPort(admin, slot);
  if (port === undefined) throw new Error(`no master serves slot ${slot}`);
  const node = `redis-cluster-${port - Number(side.env.STACK_CLUSTER_PORT_BASE) + 1}`;
  const url = `http://127.0.0.1:${side.env.QUEUE_PROCESSOR_PORT}${path}`;
  const killedAt = performance.now();
  process.kill(pid(side, node), 'SIGKILL');
  let firstWriteAt: number | undefined;
  let promotedAt: number | undefined;
  const inFlight = new Set<Promise<void>>();
  const deadline = killedAt + 60_000;
  while ((firstWriteAt === undefined || promotedAt === undefined) && performance.now() < deadline) {
    if (firstWriteAt === undefined) {
      const probe = fetch(url, { method: 'POST', headers: { authorization, 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(30_000) })
        .then(async (response) => {
          await response.arrayBuffer();
          if (response.ok) firstWriteAt ??= performance.now();
        })
        // A refused or timed-out probe is what a failover looks like: the next one goes on.
        .catch(() => undefined)
        .finally(() => inFlight.delete(probe));
      inFlight.add(probe);
    }
    if (promotedAt === undefined) {
      const now = await slotMasterPort(admin, slot).catch(() => undefined);
      if (now !== undefined && now !== port) promotedAt = performance.now();
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await Promise.all(inFlight);
  if (firstWriteAt === undefined || promotedAt === undefined) throw new Error(`${node} killed: no ${firstWriteAt === undefined ? 'successful write' : 'promotion'} within 60 s`);
  // The killed node comes back (AOF) and rejoins as a replica; stack.sh waits until the cluster is ready.
  await stackUp(side.env, 120_000);
  return { firstWriteSec: (firstWriteAt - killedAt) / 1000, promotedSec: (promotedAt - killedAt) / 1000 };
}

function range(values: number[], digits = 2): string {
  return `${Math.min(...values).toFixed(digits)}-${Math.max(...values).toFixed(digits)}`;
}

const suite: BenchSuite = {
  name: 'cluster',
  async run({ scale }) {
    const dir = mkdtempSync(join(tmpdir(), 'evinfra-bench-cluster-'));
    const sides: Side[] = [];
    const envs: NodeJS.ProcessEnv[] = [];
    const rows: BenchRow[] = [];
    try {
      const single = await startSide('single', dir, sides, envs);
      const cluster = await startSide('cluster', dir, sides, envs);
      const rounds = scale < 1 ? 2 : 3;
      const jobCount = Math.max(3_000, Math.round(30_000 * scale));
      const eventCount = Math.max(4_000, Math.round(40_000 * scale));
      const jobs = { single: [] as number[], cluster: [] as number[] };
      const evs = { single: [] as number[], cluster: [] as number[] };
      // Warm-up on both: every partition leased and read, every worker connected, code hot.
      for (const side of [single, cluster]) {
        await drainJobs(side, 600);
        await drainEvents(side, 800, -1);
      }
      for (let round = 0; round < rounds; round += 1) {
        for (const side of round % 2 === 0 ? [single, cluster] : [cluster, single]) {
          jobs[side.name].push(await drainJobs(side, jobCount));
          evs[side.name].push(await drainEvents(side, eventCount, round));
        }
      }
      const ratios = (sidesOf: { single: number[]; cluster: number[] }): string => sidesOf.cluster.map((value, index) => (value / sidesOf.single[index]!).toFixed(2)).join(' ');
      rows.push({
        metric: `job drain, ${jobCount.toLocaleString('en-US')} no-op jobs over ${WORK_QUEUES.length} work queues`,
        value: median(jobs.cluster),
        unit: 'jobs/s',
        baseline: 'single Redis per role',
        baselineValue: median(jobs.single),
        note: `concurrency ${CONCURRENCY} per queue; SIGSTOP, fill, SIGCONT, until none waiting/active; medians of ${rounds} alternating rounds, ratios ${ratios(jobs)}`,
      });
      rows.push({
        metric: `event drain, ${eventCount.toLocaleString('en-US')} events over ${PARTITIONS} partitions`,
        value: median(evs.cluster),
        unit: 'events/s',
        baseline: 'single Redis per role',
        baselineValue: median(evs.single),
        note: `1 event processor, batch 100, fan-out off; until read and acked; medians of ${rounds} alternating rounds, ratios ${ratios(evs)}`,
      });

      // Failover on the cluster alone: the single stack is stopped first (CPU for the promotion).
      await closeSide(single);
      sides.splice(sides.indexOf(single), 1);
      await run('bash', [STACK, 'down'], single.env, 90_000);
      envs.splice(envs.indexOf(single.env), 1);
      const bearer = `Bearer ${API_KEY}`;
      const basic = `Basic ${Buffer.from(`${ADMIN.user}:${ADMIN.password}`).toString('base64')}`;
      const job = { name: 'bench.noop', data: { probe: true } };
      const targets = [
        { role: 'queue', key: `${bullPrefix(WORK_QUEUES[1], true)}:${WORK_QUEUES[1]}:wait`, path: `/jobs/${WORK_QUEUES[1]}`, body: job, authorization: bearer, probe: `POST /jobs/${WORK_QUEUES[1]}` },
        { role: 'master', key: '{evinfra}:audit', path: `/jobs/${WORK_QUEUES[1]}`, body: job, authorization: basic, probe: 'audited POST /jobs (admin)' },
        // The probe's subject picks its partition: the master killed is the one holding that partition's stream.
        { role: 'streams', key: partitionStreams(STREAM, PARTITIONS)[partitionOf(PROBE_SUBJECT, PARTITIONS)]!, path: '/events', body: { type: 'user.updated', subject: PROBE_SUBJECT, data: { userId: 'probe', changes: {} } }, authorization: bearer, probe: 'POST /events' },
      ] as const;
      const failoverRounds = scale < 1 ? 1 : 2;
      for (const target of targets) {
        const results: FailoverRound[] = [];
        for (let round = 0; round < failoverRounds; round += 1) results.push(await failover(cluster, target.key, target.path, target.body, target.authorization));
        const firstWrites = results.map((result) => result.firstWriteSec);
        const promotions = results.map((result) => result.promotedSec);
        rows.push({
          metric: `${target.role} role: kill -9 of its master → first write, worst of ${failoverRounds}`,
          value: Math.max(...firstWrites),
          unit: 's',
          baseline: 'kill -9 → replica promoted',
          baselineValue: Math.max(...promotions),
          lowerIsBetter: true,
          target: FAILOVER_TARGET_SEC,
          note: `${target.probe} every 50 ms; first write ${range(firstWrites)} s, promotion ${range(promotions)} s over ${failoverRounds} round(s); cluster-node-timeout 2000`,
        });
      }
      return rows;
    } finally {
      await Promise.allSettled(sides.map((side) => closeSide(side)));
      for (const env of envs) await run('bash', [STACK, 'down'], env, 90_000);
      rmSync(dir, { recursive: true, force: true });
    }
  },
};

export default suite;
