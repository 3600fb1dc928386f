/**
 * Helpers for tests that drive `scripts/stack.sh` (local mode) as a user would: a child
 * process with every port moved to a free one, fresh passwords, data and logs in a temp dir.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bullPrefix, createRedisClient, type Cluster, type Logger, type RedisClient, type RedisProfile } from '@event-infra/shared';
import { freePorts } from '@event-infra/testing';

/**
 * `EVINFRA_TEST_REDIS_CLUSTER=1` (npm run test:cluster): every stack these helpers start runs on
 * one local Redis Cluster (STACK_REDIS_CLUSTER=1: 3 masters, 3 replicas), and its logs go under
 * `EVINFRA_CLUSTER_LOG_ROOT`, which the cluster run's global setup scans for cross-slot errors.
 */
export const onCluster = process.env.EVINFRA_TEST_REDIS_CLUSTER === '1';

/** Nodes of a test cluster (3 masters with a replica each). */
const CLUSTER_NODES = 6;

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const STACK = join(ROOT, 'scripts', 'stack.sh');

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command from the repository root; never rejects (the exit code is in the result). */
export function run(command: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(command, args, { cwd: ROOT, env, timeout: timeoutMs, maxBuffer: 10 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/**
 * The stack's environment: every Redis and service port free (and the replica port base
 * followed by `replicaPorts` free ports), fresh passwords, data and logs under `dir`; on the
 * local Redis Cluster when `cluster` (default: a cluster run, `onCluster`), as the cluster
 * benchmark asks for both in one run.
 */
export async function stackEnv(dir: string, overrides: NodeJS.ProcessEnv = {}, replicaPorts = 0, cluster = onCluster): Promise<NodeJS.ProcessEnv> {
  const [master, streams, queue, queueApi, eventApi, dlqApi] = (await freePorts(6)) as [number, number, number, number, number, number];
  const replicaBase = replicaPorts > 0 ? await freePortRun(replicaPorts) : undefined;
  const replicaRange = replicaBase === undefined ? [] : Array.from({ length: replicaPorts }, (_, index) => replicaBase + index);
  const suffix = Math.random().toString(36).slice(2);
  return {
    ...process.env,
    ENV_FILE: join(ROOT, 'env-example-event-infrastructure'),
    STACK_DATA_DIR: join(dir, 'data'),
    STACK_LOG_DIR: join(dir, 'logs'),
    REDIS_URL: `redis://127.0.0.1:${master}`,
    REDIS_PASSWORD: `master-${suffix}`,
    REDIS_STREAMS_URL: `redis://127.0.0.1:${streams}`,
    REDIS_STREAMS_PASSWORD: `streams-${suffix}`,
    REDIS_QUEUE_URL: `redis://127.0.0.1:${queue}`,
    REDIS_QUEUE_PASSWORD: `queue-${suffix}`,
    QUEUE_PROCESSOR_PORT: String(queueApi),
    EVENT_PROCESSOR_PORT: String(eventApi),
    DLQ_PROCESSOR_PORT: String(dlqApi),
    EVENT_PROCESSOR_REPLICAS: '1',
    ...(replicaBase !== undefined ? { EVENT_PROCESSOR_REPLICA_PORT_BASE: String(replicaBase) } : {}),
    NODE_ENV: 'test',
    STACK_START_TIMEOUT_SEC: '120',
    ...(cluster ? await clusterEnv(dir, `master-${suffix}`, [queueApi, eventApi, dlqApi, ...replicaRange]) : {}),
    ...overrides,
  };
}

/**
 * What `stackEnv` adds on a cluster run: STACK_REDIS_CLUSTER=1 on free ports (the cluster bus
 * ports, +10000, free too), and the variables stack.sh gives the services (every role at the
 * cluster, one password), so that a test's own clients (`stackClient`) reach the same cluster.
 */
async function clusterEnv(dir: string, password: string, taken: readonly number[]): Promise<NodeJS.ProcessEnv> {
  const base = await freePortRun(CLUSTER_NODES, 10_000, taken);
  const seeds = Array.from({ length: CLUSTER_NODES }, (_, index) => `127.0.0.1:${base + index}`).join(',');
  const url = `redis://127.0.0.1:${base}`;
  const logRoot = process.env.EVINFRA_CLUSTER_LOG_ROOT;
  return {
    STACK_REDIS_CLUSTER: '1',
    STACK_CLUSTER_PORT_BASE: String(base),
    STACK_CLUSTER_NODE_TIMEOUT_MS: '2000',
    REDIS_URL: url,
    REDIS_STREAMS_URL: url,
    REDIS_QUEUE_URL: url,
    REDIS_PASSWORD: password,
    REDIS_STREAMS_PASSWORD: password,
    REDIS_QUEUE_PASSWORD: password,
    REDIS_CLUSTER_NODES: seeds,
    REDIS_STREAMS_CLUSTER_NODES: seeds,
    REDIS_QUEUE_CLUSTER_NODES: seeds,
    ...(logRoot ? { STACK_LOG_DIR: join(logRoot, `${dir.split('/').filter(Boolean).join('_')}`) } : {}),
  };
}

const ROLE_VARS = {
  'redis': ['REDIS_URL', 'REDIS_PASSWORD', 'REDIS_CLUSTER_NODES'],
  'redis-streams': ['REDIS_STREAMS_URL', 'REDIS_STREAMS_PASSWORD', 'REDIS_STREAMS_CLUSTER_NODES'],
  'redis-queue': ['REDIS_QUEUE_URL', 'REDIS_QUEUE_PASSWORD', 'REDIS_QUEUE_CLUSTER_NODES'],
} as const;

/** A test's own client of one Redis role of the stack `env` describes: a Cluster on a cluster run. */
export function stackClient(env: NodeJS.ProcessEnv, role: keyof typeof ROLE_VARS, profile: RedisProfile, logger: Logger): RedisClient {
  const [urlVar, passwordVar, nodesVar] = ROLE_VARS[role];
  const clusterNodes = (env[nodesVar] ?? '')
    .split(',')
    .filter((item) => item !== '')
    .map((item) => ({ host: item.slice(0, item.lastIndexOf(':')), port: Number(item.slice(item.lastIndexOf(':') + 1)) }));
  return createRedisClient({ url: env[urlVar]!, password: env[passwordVar], role, profile, logger, clusterNodes });
}

/** A BullMQ key of `queue` as the stack writes it (`bull:<queue>:<suffix>`, tagged on a cluster). */
export function stackBullKey(env: NodeJS.ProcessEnv, queue: string, suffix: string): string {
  return `${bullPrefix(queue, (env.REDIS_QUEUE_CLUSTER_NODES ?? '') !== '')}:${queue}:${suffix}`;
}

/**
 * The first of `count` consecutive free loopback ports (and of the `count` from `base + offset`
 * when `offset` is given), none of them in `taken`, all below the kernel's ephemeral range
 * (`ip_local_port_range`): stack.sh binds them seconds later, and a port of that range that was
 * free when looked at can meanwhile be given to any outgoing connection (a cluster node then
 * failed with "Address already in use").
 */
async function freePortRun(count: number, offset = 0, taken: readonly number[] = []): Promise<number> {
  const { createServer } = await import('node:net');
  const isFree = (port: number) =>
    new Promise<boolean>((resolve) => {
      const server = createServer();
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
    });
  const { readFileSync } = await import('node:fs');
  let ephemeralLow = 32_768;
  try {
    ephemeralLow = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]) || ephemeralLow;
  } catch {
    // Not Linux: the common default.
  }
  const low = 10_000;
  const high = ephemeralLow - offset - count;
  if (high <= low) throw new Error(`no room for ${count} ports (+${offset}) below the ephemeral range (${ephemeralLow})`);
  for (let attempt = 0; attempt < 50; attempt += 1) {
    const base = low + Math.floor(Math.random() * (high - low));
    let all = true;
    // Ports the caller already chose for something else are not free for this run.
    if (taken.some((port) => (port >= base && port < base + count) || (offset > 0 && port >= base + offset && port < base + offset + count))) continue;
    for (let index = 0; index < count && all; index += 1) all = await isFree(base + index);
    for (let index = 0; offset > 0 && index < count && all; index += 1) all = await isFree(base + offset + index);
    if (all) return base;
  }
  throw new Error(`no run of ${count} free ports found`);
}

/** Pids recorded in the run dir, by component name (`event-processor-2` …). */
export function recordedPids(env: NodeJS.ProcessEnv): Map<string, number> {
  const runDir = join(env.STACK_DATA_DIR!, 'run');
  const pids = new Map<string, number>();
  if (!existsSync(runDir)) return pids;
  for (const file of readdirSync(runDir).filter((name) => name.endsWith('.pid'))) {
    const pid = Number(readFileSync(join(runDir, file), 'utf8').trim());
    if (Number.isInteger(pid) && pid > 0) pids.set(file.slice(0, -'.pid'.length), pid);
  }
  return pids;
}

/** Alive and not a zombie waiting to be reaped. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    // ESRCH: gone.
    return false;
  }
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(' ')[2] !== 'Z';
  } catch {
    // Gone between the two reads.
    return false;
  }
}

/** `stack.sh up`, or (when it fails) `stack.sh down` and an error carrying its output. */
export async function stackUp(env: NodeJS.ProcessEnv, timeoutMs = 180_000): Promise<void> {
  const up = await run('bash', [STACK, 'up'], env, timeoutMs);
  if (up.code === 0) return;
  await run('bash', [STACK, 'down'], env, 90_000);
  throw new Error(`stack.sh up failed (${up.code}):\n${up.stdout}\n${up.stderr}`);
}

/**
 * Port of the master serving `slot` now, from CLUSTER SLOTS (`[start, end, [host, port, …], …]`
 * per range); undefined while no node serves it. The failover test and the cluster benchmark
 * poll it for a promotion.
 */
export async function slotMasterPort(admin: Cluster, slot: number): Promise<number | undefined> {
  const ranges = (await admin.cluster('SLOTS')) as unknown as [number, number, [string, number, ...unknown[]], ...unknown[]][];
  return ranges.find(([start, end]) => slot >= start && slot <= end)?.[2][1];
}
