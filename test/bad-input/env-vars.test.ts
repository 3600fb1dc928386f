/**
 * Bad environment values. Every case goes through the service's `loadConfig` (one
 * `ConfigError` line naming the variable, no secret echoed); a subset, one or more per
 * service, starts the real process (`node --import tsx src/main.ts`): exit 1 before
 * connecting anywhere, exactly one stderr line naming the variable, nothing on stdout, no
 * secret. (A spawned service costs seconds of module loading on a loaded 2-core machine, so
 * not all 40 are spawned.)
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '@event-infra/shared';
import { loadConfig as loadQueueConfig } from '../../queue-system/src/config';
import { loadConfig as loadEventConfig } from '../../event-system/src/config';
import { loadConfig as loadDlqConfig } from '../../dlq-system/src/config';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SECRET = 'S3cr3t-do-not-echo';
const SERVICES = { queue: 'queue-system', event: 'event-system', dlq: 'dlq-system' } as const;

interface EnvCase {
  service: keyof typeof SERVICES;
  variable: string;
  value: string;
  /** Extra variables for the case. */
  extra?: Record<string, string>;
  /** The variable the error names, when not `variable` itself. */
  names?: string;
  /** Also start the real process for this case. */
  spawn?: boolean;
}

const LOADERS = { queue: loadQueueConfig, event: loadEventConfig, dlq: loadDlqConfig } as const;

const cases: EnvCase[] = [
  { service: 'queue', variable: 'QUEUE_PROCESSOR_PORT', value: 'eighty', spawn: true },
  { service: 'queue', variable: 'QUEUE_PROCESSOR_PORT', value: '70000' },
  { service: 'event', variable: 'EVENT_PROCESSOR_PORT', value: '-1' },
  { service: 'dlq', variable: 'DLQ_PROCESSOR_PORT', value: '80.5' },
  { service: 'event', variable: 'REDIS_URL', value: `http://admin:${SECRET}@127.0.0.1:6379`, spawn: true },
  { service: 'queue', variable: 'REDIS_QUEUE_URL', value: `redis//:${SECRET}@nohost` },
  { service: 'dlq', variable: 'REDIS_STREAMS_URL', value: 'not a url' },
  { service: 'queue', variable: 'CONCURRENCY', value: '-3' },
  { service: 'queue', variable: 'CONCURRENCY_ASYNC_PROCESSING', value: 'many' },
  { service: 'dlq', variable: 'DLQ_CONCURRENCY', value: '0' },
  { service: 'dlq', variable: 'LOG_LEVEL', value: 'verbose', spawn: true },
  { service: 'event', variable: 'LOG_LEVEL', value: 'INFO!' },
  { service: 'queue', variable: 'QUEUE_ENABLED', value: 'maybe', spawn: true },
  { service: 'event', variable: 'EVENT_BUS_ENABLED', value: 'perhaps' },
  { service: 'dlq', variable: 'HTTP_BODY_LIMIT', value: 'lots' },
  { service: 'queue', variable: 'HTTP_BODY_LIMIT', value: '1 gigabyte' },
  { service: 'queue', variable: 'HTTP_BODY_MAX_IN_FLIGHT', value: 'plenty' },
  { service: 'event', variable: 'EVENT_BATCH_SIZE', value: '0', spawn: true },
  { service: 'dlq', variable: 'DLQ_MAX_RETRIES', value: '-1' },
  { service: 'dlq', variable: 'ALERT_WEBHOOK_URL', value: `ftp://token:${SECRET}@hooks.example.com/x`, spawn: true },
  { service: 'queue', variable: 'MAX_JOB_DURATION', value: '1.5' },
  { service: 'queue', variable: 'NODE_ENV', value: 'staging' },
  { service: 'event', variable: 'STREAM_MAXLEN_APPROX', value: '-5' },
  { service: 'queue', variable: 'RETRY_ATTEMPTS', value: '0' },
  { service: 'queue', variable: 'ADMIN_USER', value: 'admin', names: 'ADMIN_PASSWORD' },
  // --- bounds and switches of issue #11 ---
  { service: 'queue', variable: 'HTTP_ALLOWED_HOSTS', value: 'api.example.com,http://localhost:8011', spawn: true },
  { service: 'queue', variable: 'HTTP_ALLOWED_HOSTS', value: 'api.example.com:99999' },
  { service: 'queue', variable: 'HTTP_ALLOWED_HOSTS', value: '*.10.0.0.1' },
  { service: 'queue', variable: 'ADMIN_READONLY', value: 'sometimes' },
  { service: 'queue', variable: 'EXPOSE_STACKS', value: 'please' },
  { service: 'queue', variable: 'JOB_MAX_ATTEMPTS', value: '0' },
  { service: 'queue', variable: 'JOB_MAX_ATTEMPTS', value: '5000' },
  { service: 'queue', variable: 'JOB_MAX_BULK', value: '1001' },
  { service: 'queue', variable: 'JOB_MAX_DELAY_MS', value: 'forever' },
  { service: 'queue', variable: 'HTTP_REQUEST_MAX_RESPONSE_BYTES', value: '0' },
  { service: 'queue', variable: 'EVENTS_API_SOURCE', value: 'has spaces' },
  { service: 'dlq', variable: 'DLQ_PAGE_MAX_LIMIT', value: '501' },
  { service: 'event', variable: 'HTTP_HEADERS_TIMEOUT_MS', value: '0' },
  { service: 'dlq', variable: 'HTTP_REQUEST_TIMEOUT_MS', value: 'slow' },
  { service: 'queue', variable: 'HTTP_MAX_CONNECTIONS', value: '-1' },
  { service: 'event', variable: 'HTTP_KEEP_ALIVE_TIMEOUT_MS', value: '1.5' },
];

interface Outcome {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runService(service: keyof typeof SERVICES, env: Record<string, string>): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      cwd: `${ROOT}${SERVICES[service]}`,
      // Every Redis URL points at a closed port (see caseEnv): a case that got past the config
      // would fail to connect, never talk to a real Redis.
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Runs `tasks` at most `limit` at a time (two cores, shared). */
async function limited<T>(tasks: (() => Promise<T>)[], limit: number): Promise<T[]> {
  const results: T[] = new Array(tasks.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < tasks.length) {
        const index = next++;
        results[index] = await tasks[index]!();
      }
    }),
  );
  return results;
}

/** The environment of every case: secrets set, every Redis on a closed port. */
function caseEnv(testCase: EnvCase): Record<string, string> {
  return {
    NODE_ENV: 'test',
    REDIS_URL: 'redis://127.0.0.1:1',
    REDIS_STREAMS_URL: 'redis://127.0.0.1:1',
    REDIS_QUEUE_URL: 'redis://127.0.0.1:1',
    REDIS_PASSWORD: SECRET,
    REDIS_QUEUE_PASSWORD: SECRET,
    API_KEY: SECRET,
    REDIS_CONNECT_TIMEOUT_MS: '1000',
    QUEUE_PROCESSOR_PORT: '0',
    EVENT_PROCESSOR_PORT: '0',
    DLQ_PROCESSOR_PORT: '0',
    [testCase.variable]: testCase.value,
    ...testCase.extra,
  };
}

const label = (testCase: EnvCase) => `${testCase.service} ${testCase.variable}=${testCase.value.replace(SECRET, '***')}`;

describe('bad environment values', () => {
  it(`has at least 40 cases (${cases.length}), at least one spawned per service`, () => {
    expect(cases.length).toBeGreaterThanOrEqual(40);
    expect(new Set(cases.filter((testCase) => testCase.spawn).map((testCase) => testCase.service)).size).toBe(3);
  });

  it.each(cases.map((testCase) => ({ ...testCase, label: label(testCase) })))('loadConfig: $label', (testCase) => {
    let caught: unknown;
    try {
      LOADERS[testCase.service](caseEnv(testCase));
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    const error = caught as ConfigError;
    expect(error.issues.map((issue) => issue.variable)).toEqual([testCase.names ?? testCase.variable]);
    expect(error.message).not.toContain('\n');
    expect(error.message).not.toContain(SECRET);
  });

  const spawned = cases.filter((testCase) => testCase.spawn);
  it(`spawned: ${spawned.length} services with a bad value exit 1 with one stderr line naming it, no secret`, { timeout: 120_000 }, async () => {
    const outcomes = await limited(spawned.map((testCase) => () => runService(testCase.service, caseEnv(testCase))), 3);
    const summary = outcomes.map((outcome, index) => {
      const testCase = spawned[index]!;
      const lines = outcome.stderr.split('\n').filter((line) => line.trim() !== '');
      return {
        case: label(testCase),
        code: outcome.code,
        stderrLines: lines.length,
        namesVariable: lines[0]?.includes(`${testCase.names ?? testCase.variable}:`) ?? false,
        configLine: /^[\w-]+: invalid configuration: /.test(lines[0] ?? ''),
        secretEchoed: (outcome.stderr + outcome.stdout).includes(SECRET),
        stdoutEmpty: outcome.stdout === '',
      };
    });
    expect(summary).toEqual(
      summary.map((row) => ({ ...row, code: 1, stderrLines: 1, namesVariable: true, configLine: true, secretEchoed: false, stdoutEmpty: true })),
    );
  });
});
