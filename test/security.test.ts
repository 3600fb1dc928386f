/**
 * Secrets at the edges of the stack: every service refuses to start in production with the
 * env example's placeholder passwords; local mode refuses an empty Redis password; compose
 * refuses to render without one.
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, freePorts, itWithTool } from '@event-infra/testing';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const EXAMPLE = join(ROOT, 'env-example-event-infrastructure');

interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(command, args, { cwd: ROOT, env, timeout: timeoutMs }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** The example's KEY=VALUE lines. */
function exampleEnv(): Record<string, string> {
  return Object.fromEntries(
    readFileSync(EXAMPLE, 'utf8')
      .split('\n')
      .filter((line) => /^[A-Z_][A-Z0-9_]*=/.test(line))
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  );
}

/** process.env without anything the example defines (a developer's shell may export some). */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const key of Object.keys(exampleEnv())) delete env[key];
  delete env.ENV_FILE;
  return env;
}

const SERVICES = [
  { name: 'queue-processor', main: 'queue-system/src/main.ts' },
  { name: 'event-processor', main: 'event-system/src/main.ts' },
  { name: 'dlq-processor', main: 'dlq-system/src/main.ts' },
];

describe('production refuses the example placeholder secrets', () => {
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    // Every Redis URL points at a closed port: a service that got past its config would fail
    // to connect instead (a different message), which the control case below relies on.
    const closed = await freePort();
    env = {
      ...cleanEnv(),
      ...exampleEnv(),
      NODE_ENV: 'production',
      REDIS_URL: `redis://127.0.0.1:${closed}`,
      REDIS_STREAMS_URL: `redis://127.0.0.1:${closed}`,
      REDIS_QUEUE_URL: `redis://127.0.0.1:${closed}`,
      REDIS_CONNECT_TIMEOUT_MS: '500',
      QUEUE_PROCESSOR_PORT: '0',
      EVENT_PROCESSOR_PORT: '0',
      DLQ_PROCESSOR_PORT: '0',
    };
  });

  it.concurrent.for(SERVICES)('$name exits 1 with one line naming the placeholder variables', async ({ name, main }, { expect }) => {
    const result = await run(process.execPath, ['--import', 'tsx', main], env, 30_000);
    expect(result.code).toBe(1);
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^${name}: invalid configuration: REDIS_PASSWORD: is the example's placeholder`));
    for (const variable of ['REDIS_STREAMS_PASSWORD', 'REDIS_QUEUE_PASSWORD']) expect(lines[0]).toContain(`${variable}: `);
    expect(result.stderr).not.toMatch(/change-me-(master|streams|queue)/);
    expect(result.stdout).toBe('');
  });

  it('control: with real secrets the same service gets past its configuration', async () => {
    const result = await run(
      process.execPath,
      ['--import', 'tsx', SERVICES[0]!.main],
      { ...env, REDIS_PASSWORD: 'r3al-master', REDIS_STREAMS_PASSWORD: 'r3al-streams', REDIS_QUEUE_PASSWORD: 'r3al-queue' },
      30_000,
    );
    // No Redis answers: it fails later, at connecting, not at its configuration.
    expect(result.code).toBe(1);
    expect(result.stderr).not.toContain('invalid configuration');
    expect(result.stderr).toContain('queue-processor: failed to start');
  });
});

describe('Redis passwords are required', () => {
  let dir: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'evinfra-security-'));
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('local mode: stack.sh up refuses an empty password in one line and starts nothing', async () => {
    const ports = await freePorts(3);
    const env: NodeJS.ProcessEnv = {
      ...cleanEnv(),
      ENV_FILE: EXAMPLE,
      STACK_DATA_DIR: join(dir, 'data'),
      STACK_LOG_DIR: join(dir, 'logs'),
      REDIS_URL: `redis://127.0.0.1:${ports[0]}`,
      REDIS_STREAMS_URL: `redis://127.0.0.1:${ports[1]}`,
      REDIS_QUEUE_URL: `redis://127.0.0.1:${ports[2]}`,
      REDIS_QUEUE_PASSWORD: '',
    };
    const result = await run('bash', [join(ROOT, 'scripts', 'stack.sh'), 'up'], env, 30_000);
    expect(result.code).toBe(1);
    expect(result.stderr.trim()).toBe(
      'stack: REDIS_QUEUE_PASSWORD is empty: every Redis runs with a password (see env-example-event-infrastructure)',
    );
    const runDir = join(dir, 'data', 'run');
    expect(existsSync(runDir) ? readdirSync(runDir).filter((file) => file.endsWith('.pid')) : []).toEqual([]);
  });

  const compose = composeCommand();
  itWithTool('docker compose', compose !== undefined, 'docker compose v2 or docker-compose; .ci/run installs docker-compose', 'compose: the file does not render without each Redis password, and no Redis gets one in argv or env', async () => {
    const [command, ...prefix] = compose!;
    const passwords = { REDIS_PASSWORD: 'p-master', REDIS_STREAMS_PASSWORD: 'p-streams', REDIS_QUEUE_PASSWORD: 'p-queue' };
    const render = async (values: Record<string, string>) => {
      const file = join(dir, `compose-${Object.entries(values).filter(([, value]) => value === '').map(([key]) => key).join('-') || 'complete'}.env`);
      writeFileSync(file, Object.entries(values).map(([key, value]) => `${key}=${value}\n`).join(''));
      return run(command!, [...prefix, '--env-file', file, 'config', '--format', 'json'], { ...cleanEnv(), ENV_FILE: file }, 60_000);
    };
    const missing = Object.keys(passwords);
    const [complete, ...incomplete] = await Promise.all([
      render(passwords),
      ...missing.map((variable) => render({ ...passwords, [variable]: '' })),
    ]);
    expect(complete!.code, complete!.stderr).toBe(0);
    // Each Redis reads its password from a secret (/run/secrets/redis_password, from the env
    // variable) into a config file: nothing of it in its command, entrypoint or environment.
    const config = JSON.parse(complete!.stdout) as {
      services: Record<string, { command?: unknown; entrypoint?: unknown; environment?: unknown; secrets?: { source: string; target: string }[] }>;
      secrets: Record<string, { environment?: string }>;
    };
    const redisSecrets = { redis: 'redis_password', 'redis-streams': 'redis_streams_password', 'redis-queue': 'redis_queue_password' };
    for (const [service, secret] of Object.entries(redisSecrets)) {
      const definition = config.services[service]!;
      const visible = JSON.stringify([definition.command, definition.entrypoint, definition.environment]);
      for (const password of Object.values(passwords)) expect(visible, service).not.toContain(password);
      expect(visible, service).not.toContain('--requirepass');
      expect(definition.secrets, service).toEqual([expect.objectContaining({ source: secret, target: 'redis_password' })]);
    }
    expect(config.secrets.redis_password?.environment).toBe('REDIS_PASSWORD');
    expect(config.secrets.redis_streams_password?.environment).toBe('REDIS_STREAMS_PASSWORD');
    expect(config.secrets.redis_queue_password?.environment).toBe('REDIS_QUEUE_PASSWORD');
    incomplete.forEach((result, index) => {
      expect(result.code, missing[index]).not.toBe(0);
      expect(result.stderr, missing[index]).toContain(`set ${missing[index]} in .env`);
    });
  }, 120_000);
});

/** `docker compose` (v2) or `docker-compose` (v1), whichever answers; undefined when neither. */
function composeCommand(): string[] | undefined {
  for (const candidate of [['docker', 'compose'], ['docker-compose']]) {
    try {
      execFileSync(candidate[0]!, [...candidate.slice(1), 'version'], { stdio: 'ignore', timeout: 10_000 });
      return candidate;
    } catch {
      // Not installed (or not this flavour): try the next one.
    }
  }
  return undefined;
}
