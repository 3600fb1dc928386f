/**
 * Helpers for tests that drive `scripts/stack.sh` (local mode) as a user would: a child
 * process with every port moved to a free one, fresh passwords, data and logs in a temp dir.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '@event-infra/testing';

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
 * followed by `replicaPorts` free ports), fresh passwords, data and logs under `dir`.
 */
export async function stackEnv(dir: string, overrides: NodeJS.ProcessEnv = {}, replicaPorts = 0): Promise<NodeJS.ProcessEnv> {
  const [master, streams, queue, queueApi, eventApi, dlqApi] = await Promise.all(Array.from({ length: 6 }, () => freePort()));
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
    ...(replicaPorts > 0 ? { EVENT_PROCESSOR_REPLICA_PORT_BASE: String(await freePortRun(replicaPorts)) } : {}),
    NODE_ENV: 'test',
    STACK_START_TIMEOUT_SEC: '120',
    ...overrides,
  };
}

/** The first of `count` consecutive free loopback ports. */
async function freePortRun(count: number): Promise<number> {
  const { createServer } = await import('node:net');
  const isFree = (port: number) =>
    new Promise<boolean>((resolve) => {
      const server = createServer();
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
    });
  for (let attempt = 0; attempt < 50; attempt += 1) {
    const base = await freePort();
    let all = true;
    for (let offset = 1; offset < count && all; offset += 1) all = await isFree(base + offset);
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
