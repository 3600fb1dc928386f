/**
 * The local-mode stack under test: `scripts/stack.sh up|down` on free ports with a temp
 * data/log dir and secrets of this run only, plus the process-level faults (SIGKILL of a
 * service, SHUTDOWN of a Redis, SIGSTOP/SIGCONT) and the health probe.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRedis, waitForAll, type Redis } from '@event-infra/shared';
import { freePorts, silentLogger, waitFor } from '@event-infra/testing';
import { isAlive } from '../support/stack-runner';


const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const STACK = join(ROOT, 'scripts', 'stack.sh');

/** The three Redis of the stack, named as in `scripts/stack.sh`. */
export const REDIS_NAMES = ['redis', 'redis-streams', 'redis-queue'] as const;
export type RedisName = (typeof REDIS_NAMES)[number];
/** The three services of the stack (one event processor). */
export const SERVICE_NAMES = ['queue-processor', 'event-processor', 'dlq-processor'] as const;
export type ServiceName = (typeof SERVICE_NAMES)[number];

/** Secrets configured for the run; none may appear in any log line. */
export interface StackSecrets {
  apiKey: string;
  adminUser: string;
  adminPassword: string;
  redisPasswords: Record<RedisName, string>;
  /** Path token of the alert webhook URL (the URL is documented as never logged). */
  webhookToken: string;
}

export interface StackHandle {
  env: NodeJS.ProcessEnv;
  secrets: StackSecrets;
  dataDir: string;
  logDir: string;
  /** Base URLs of the three services. */
  urls: Record<ServiceName, string>;
  /** `redis://127.0.0.1:<port>` of each Redis (password separate). */
  redisUrls: Record<RedisName, string>;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function runStack(args: string[], env: NodeJS.ProcessEnv, timeoutMs = 180_000): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile('bash', [STACK, ...args], { cwd: ROOT, env, timeout: timeoutMs, maxBuffer: 10 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

const secret = (prefix: string): string => `${prefix}-${randomBytes(12).toString('hex')}`;

/**
 * Environment of the run: every port free, fresh secrets, short timings so that recovery
 * (stalled jobs, reclaimed entries, DLQ backoffs, webhook retries) happens within seconds.
 * `webhookUrl` is the alert receiver's base URL.
 */
export async function createStackEnv(dir: string, webhookPort: number): Promise<StackHandle> {
  const ports = await freePorts(6);
  const [master, streams, queue, queueApi, eventApi, dlqApi] = ports as [number, number, number, number, number, number];
  const secrets: StackSecrets = {
    apiKey: secret('apikey'),
    adminUser: secret('admin'),
    adminPassword: secret('adminpw'),
    redisPasswords: { redis: secret('master'), 'redis-streams': secret('streams'), 'redis-queue': secret('queue') },
    webhookToken: secret('hook'),
  };
  const dataDir = join(dir, 'data');
  const logDir = join(dir, 'logs');
  const redisUrls: Record<RedisName, string> = {
    redis: `redis://127.0.0.1:${master}`,
    'redis-streams': `redis://127.0.0.1:${streams}`,
    'redis-queue': `redis://127.0.0.1:${queue}`,
  };
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ENV_FILE: join(ROOT, 'env-example-event-infrastructure'),
    STACK_DATA_DIR: dataDir,
    STACK_LOG_DIR: logDir,
    STACK_START_TIMEOUT_SEC: '120',
    NODE_ENV: 'test',
    LOG_LEVEL: 'debug',
    REDIS_URL: redisUrls.redis,
    REDIS_PASSWORD: secrets.redisPasswords.redis,
    REDIS_STREAMS_URL: redisUrls['redis-streams'],
    REDIS_STREAMS_PASSWORD: secrets.redisPasswords['redis-streams'],
    REDIS_QUEUE_URL: redisUrls['redis-queue'],
    REDIS_QUEUE_PASSWORD: secrets.redisPasswords['redis-queue'],
    QUEUE_PROCESSOR_PORT: String(queueApi),
    EVENT_PROCESSOR_PORT: String(eventApi),
    DLQ_PROCESSOR_PORT: String(dlqApi),
    EVENT_PROCESSOR_REPLICAS: '1',
    API_KEY: secrets.apiKey,
    ADMIN_USER: secrets.adminUser,
    ADMIN_PASSWORD: secrets.adminPassword,
    // Jobs: quick retries; a dead worker's jobs are back within seconds; nothing removed by retention.
    RETRY_ATTEMPTS: '3',
    RETRY_DELAY: '200',
    JOB_LOCK_DURATION_MS: '8000',
    JOB_STALLED_INTERVAL_MS: '2000',
    JOB_KEEP_COMPLETED: '100000',
    JOB_KEEP_FAILED: '100000',
    SHUTDOWN_GRACE_MS: '5000',
    // Events: a dead consumer's entries are reclaimed after 3 s; keep acknowledged entries for the check.
    EVENT_CLAIM_IDLE_MS: '3000',
    EVENT_CLAIM_INTERVAL_MS: '1000',
    EVENT_TRIM_INTERVAL_MS: '0',
    EVENT_SCALE_INTERVAL_MS: '0',
    EVENT_TRIGGERS_FILE: 'event-system/triggers.example.json',
    // DLQ: short backoffs and checks; alerts coalesced per second; the webhook retried for ~1 min.
    DLQ_RETRY_BASE_DELAY_MS: '500',
    DLQ_RETRY_MAX_DELAY_MS: '4000',
    DLQ_HANDLE_RETRY_DELAY_MS: '1000',
    DLQ_RECOVERY_CHECK_MS: '1000',
    ALERT_COALESCE_WINDOW_MS: '1000',
    ALERT_WEBHOOK_URL: `http://127.0.0.1:${webhookPort}/hooks/${secrets.webhookToken}`,
    ALERT_WEBHOOK_TIMEOUT_MS: '2000',
    ALERT_WEBHOOK_ATTEMPTS: '60',
    ALERT_WEBHOOK_RETRY_DELAY_MS: '300',
    ALERT_WEBHOOK_MAX_RETRY_DELAY_MS: '1500',
  };
  return {
    env,
    secrets,
    dataDir,
    logDir,
    urls: {
      'queue-processor': `http://127.0.0.1:${queueApi}`,
      'event-processor': `http://127.0.0.1:${eventApi}`,
      'dlq-processor': `http://127.0.0.1:${dlqApi}`,
    },
    redisUrls,
  };
}

/** Pid recorded by `stack.sh` for `name` (service or Redis), or undefined. */
export function recordedPid(stack: StackHandle, name: ServiceName | RedisName): number | undefined {
  const file = join(stack.dataDir, 'run', `${name}.pid`);
  if (!existsSync(file)) return undefined;
  const pid = Number(readFileSync(file, 'utf8').trim());
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}


/** `stack.sh up` (starts what is not running, waits for every /health 200); throws with the output on failure. */
export async function stackUp(stack: StackHandle): Promise<void> {
  const result = await runStack(['up'], stack.env);
  if (result.code !== 0) {
    const health = await Promise.all(SERVICE_NAMES.map(async (name) => `${name}: ${await healthBody(stack.urls[name])}`));
    throw new Error(`stack.sh up failed (${result.code}):\n${result.stdout}\n${result.stderr}\n/health now:\n${health.join('\n')}`);
  }
}

/** `<status> <body>` of GET /health, for failure messages. */
async function healthBody(url: string): Promise<string> {
  try {
    const response = await fetch(`${url}/health`, { signal: AbortSignal.timeout(5_000) });
    return `${response.status} ${await response.text()}`;
  } catch (caught) {
    return `no answer (${caught instanceof Error ? caught.message : String(caught)})`;
  }
}

export async function stackDown(stack: StackHandle): Promise<RunResult> {
  return runStack(['down'], stack.env, 120_000);
}

/** `kill -9` of a process recorded by the stack; resolves once it is gone. */
export async function killNine(stack: StackHandle, name: ServiceName | RedisName): Promise<number> {
  const pid = recordedPid(stack, name);
  if (pid === undefined || !isAlive(pid)) throw new Error(`${name} is not running`);
  process.kill(pid, 'SIGKILL');
  await waitFor(() => !isAlive(pid), `${name} (pid ${pid}) gone after SIGKILL`, { timeoutMs: 20_000, intervalMs: 50 });
  return pid;
}

/** A client of one of the stack's Redis (the test's own connection). */
export function stackRedis(stack: StackHandle, name: RedisName): Redis {
  return createRedis({
    url: stack.redisUrls[name],
    password: stack.secrets.redisPasswords[name],
    role: name,
    profile: 'producer',
    logger: silentLogger(),
  });
}

/** `SHUTDOWN` (AOF fsynced) of one Redis; resolves once its process is gone. */
export async function shutdownRedis(stack: StackHandle, name: RedisName): Promise<void> {
  const pid = recordedPid(stack, name);
  if (pid === undefined || !isAlive(pid)) throw new Error(`${name} is not running`);
  const client = stackRedis(stack, name);
  try {
    await waitForAll({ [name]: client }, 10_000);
    // The connection closes as Redis exits: the reply is an error, or none.
    await client.call('SHUTDOWN').catch(() => undefined);
  } finally {
    client.disconnect();
  }
  await waitFor(() => !isAlive(pid), `${name} (pid ${pid}) gone after SHUTDOWN`, { timeoutMs: 30_000, intervalMs: 50 });
}

/** Status code of GET /health of one service (0 when it does not answer within 2 s). */
export async function healthCode(url: string): Promise<number> {
  try {
    const response = await fetch(`${url}/health`, { signal: AbortSignal.timeout(2_000) });
    await response.arrayBuffer();
    return response.status;
  } catch {
    // Refused or timed out: not healthy.
    return 0;
  }
}

/** Every service answers /health with 200. */
export async function allHealthy(stack: StackHandle): Promise<boolean> {
  const codes = await Promise.all(SERVICE_NAMES.map((name) => healthCode(stack.urls[name])));
  return codes.every((code) => code === 200);
}

/** Waits until every /health is 200; returns the ms elapsed since `since`. */
export async function waitHealthy(stack: StackHandle, since: number, timeoutMs = 120_000): Promise<number> {
  await waitFor(() => allHealthy(stack), 'every /health 200', { timeoutMs, intervalMs: 100 });
  return Date.now() - since;
}

export { isAlive };
