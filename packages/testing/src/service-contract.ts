import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { dirname } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REDIS_ROLES, type Logger, type RedisRole } from '@event-infra/shared';
import { captureLogger, waitFor, type CapturedLogger } from './helpers';
import { freePort, startRedisServer, type RedisServer } from './redis-server';

/** What a service's `startXProcessor(config, logger)` returns, as far as the contract cares. */
export interface ContractService {
  url: string;
  close(): Promise<void>;
}

export interface ServiceContractOptions {
  /** Service name as `/health` and the metrics label report it (`SERVICES.x`). */
  service: string;
  /** Redis roles the service's `/health` reports, each a check that must say `up`. */
  roles: readonly RedisRole[];
  /**
   * Starts the real service in this process from `env` (Redis URLs of the contract's own
   * redis-servers, loopback, port 0 for every service port): `startX(loadConfig(env), logger)`.
   */
  start(env: Record<string, string>, logger: Logger): Promise<ContractService>;
  /** Absolute path of the service's `src/main.ts`, for the start-up failure tests. */
  main: string;
  /** How long a Redis outage or recovery may take to show in `/health`, ms. Default 15000. */
  recoveryTimeoutMs?: number;
}

export interface ProcessResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `node --import tsx <main>` with exactly `env` (plus PATH and HOME) and resolves when
 * it exits; SIGKILLs it after `timeoutMs` so a process that should have exited cannot hang a run.
 */
export async function runServiceMain(main: string, env: Record<string, string>, timeoutMs = 20_000): Promise<ProcessResult> {
  const child = spawn(process.execPath, ['--import', 'tsx', main], {
    cwd: dirname(dirname(main)),
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const code = await new Promise<number | null>((resolve) => child.once('close', (exitCode) => resolve(exitCode)));
  clearTimeout(timer);
  return { code, stdout, stderr };
}

interface Reply {
  status: number;
  contentType: string;
  text: string;
  body: unknown;
}

/** `HTTP_HEADERS_TIMEOUT_MS` of the service under contract, ms. */
const HEADERS_TIMEOUT_MS = 1_000;

const SERVICE_PORTS = { QUEUE_PROCESSOR_PORT: '0', EVENT_PROCESSOR_PORT: '0', DLQ_PROCESSOR_PORT: '0' } as const;

/**
 * The behaviour every service shares, run by each service's `test/health.test.ts` against
 * the real service and three redis-servers of its own (so one can be killed and restarted):
 * `/health` up, down per Redis role, up again; `/metrics`; slow clients cut; 404 body; no secret in any
 * response or log line; exit 1 with one clear line on a bad variable or an unreachable Redis.
 */
export function describeServiceContract(options: ServiceContractOptions): void {
  const recoveryTimeoutMs = options.recoveryTimeoutMs ?? 15_000;

  describe(`${options.service}: service contract`, () => {
    const originals: Partial<Record<RedisRole, RedisServer>> = {};
    const current: Partial<Record<RedisRole, RedisServer>> = {};
    const replies: Reply[] = [];
    let log: CapturedLogger;
    let service: ContractService | undefined;

    const redis = (role: RedisRole): RedisServer => current[role]!;
    const passwords = (): string[] => Object.values(originals).map((server) => server.password);

    /** Environment pointing at the contract's Redis: the streams password in its own variable. */
    const environment = (): Record<string, string> => ({
      REDIS_URL: redis(REDIS_ROLES.master).url,
      REDIS_STREAMS_URL: redis(REDIS_ROLES.streams).urlWithoutPassword,
      REDIS_STREAMS_PASSWORD: redis(REDIS_ROLES.streams).password,
      REDIS_QUEUE_URL: redis(REDIS_ROLES.queue).url,
      HTTP_HOST: '127.0.0.1',
      REDIS_CONNECT_TIMEOUT_MS: '10000',
      SHUTDOWN_GRACE_MS: '2000',
      // Short, so the slow-client case below is quick: the service must apply it.
      HTTP_HEADERS_TIMEOUT_MS: String(HEADERS_TIMEOUT_MS),
      ...SERVICE_PORTS,
    });

    const get = async (path: string): Promise<Reply> => {
      const response = await fetch(`${service!.url}${path}`);
      const text = await response.text();
      const contentType = response.headers.get('content-type') ?? '';
      const reply = { status: response.status, contentType, text, body: contentType.includes('json') ? JSON.parse(text) : undefined };
      replies.push(reply);
      return reply;
    };

    const health = (down?: RedisRole): Record<string, unknown> => ({
      status: down === undefined ? 'ok' : 'error',
      service: options.service,
      checks: Object.fromEntries(options.roles.map((role) => [role, role === down ? 'down' : 'up'])),
    });

    beforeAll(async () => {
      for (const role of Object.values(REDIS_ROLES)) {
        originals[role] = await startRedisServer();
        current[role] = originals[role];
      }
      log = captureLogger(options.service);
      service = await options.start(environment(), log.logger);
    });

    afterAll(async () => {
      await service?.close();
      for (const role of Object.values(REDIS_ROLES)) {
        await current[role]?.stop();
        // The original owns the temp dir that restarts reuse: stopping it last removes the dir.
        await originals[role]?.stop();
      }
    });

    it('/health is 200 with every Redis check up', async () => {
      const reply = await get('/health');
      expect(reply.status).toBe(200);
      expect(reply.body).toEqual(health());
    });

    it.each(options.roles)('/health is 503 with %s down while it is killed, and 200 again after it restarts', async (role) => {
      await redis(role).kill();
      const down = await waitFor(
        async () => {
          const reply = await get('/health');
          return reply.status === 503 ? reply : undefined;
        },
        `/health to report ${role} down`,
        { timeoutMs: recoveryTimeoutMs, intervalMs: 100 },
      );
      expect(down.body).toEqual(health(role));
      current[role] = await redis(role).restart();
      await waitFor(async () => (await get('/health')).status === 200, `/health to recover after ${role} restarted`, {
        timeoutMs: recoveryTimeoutMs,
        intervalMs: 100,
      });
      expect((await get('/health')).body).toEqual(health());
    });

    it('/metrics is Prometheus text with process metrics labelled with the service', async () => {
      const reply = await get('/metrics');
      expect(reply.status).toBe(200);
      expect(reply.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
      expect(reply.text).toMatch(new RegExp(`^process_[a-z_]+\\{[^}]*service="${options.service}"[^}]*\\} \\d`, 'm'));
    });

    it('a client trickling its headers is cut within HTTP_HEADERS_TIMEOUT_MS (plus scheduling slack)', async () => {
      const { port } = new URL(service!.url);
      const socket = connect(Number(port), '127.0.0.1');
      socket.on('error', () => undefined); // a reset by the server is the expected end
      const started = Date.now();
      socket.write('GET /health HTTP/1.1\r\nHost: x\r\n');
      const timer = setInterval(() => socket.writable && socket.write('X-Slow: 1\r\n'), 200);
      let answer = '';
      socket.on('data', (chunk: Buffer) => (answer += chunk.toString()));
      await new Promise((resolve) => socket.once('close', resolve));
      clearInterval(timer);
      // Slack for a loaded 2-core machine; without the limit Node's default (60 s) applies.
      expect(Date.now() - started).toBeLessThan(HEADERS_TIMEOUT_MS + 5_000);
      expect(answer).not.toContain('"status":"ok"');
    }, 15_000);

    it('an unknown route is 404 {error: not_found, message}', async () => {
      const reply = await get('/no/such/route');
      expect(reply.status).toBe(404);
      expect(reply.body).toEqual({ error: 'not_found', message: expect.any(String) });
    });

    it('no Redis password in any response body or log line', () => {
      expect(replies.length).toBeGreaterThan(4);
      expect(log.lines.length).toBeGreaterThan(0);
      for (const password of passwords()) {
        for (const reply of replies) expect(reply.text).not.toContain(password);
        expect(log.text()).not.toContain(password);
      }
    });

    it('a bad variable: exit 1 with one stderr line naming it, the value not echoed', async () => {
      const secret = 'contract-secret-9c1d';
      const result = await runServiceMain(options.main, {
        ...environment(),
        REDIS_QUEUE_URL: `redis://:${secret}@`,
        LOG_LEVEL: 'info',
      });
      expect(result.code).toBe(1);
      const lines = result.stderr.trimEnd().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(new RegExp(`^${options.service}: invalid configuration: REDIS_QUEUE_URL: `));
      expect(result.stderr + result.stdout).not.toContain(secret);
    });

    it('an unreachable Redis: exit 1 naming the Redis role and its host:port, no password', async () => {
      const port = await freePort();
      const secret = 'dead-port-secret-41aa';
      const result = await runServiceMain(options.main, {
        ...environment(),
        REDIS_QUEUE_URL: `redis://:${secret}@127.0.0.1:${port}`,
        REDIS_CONNECT_TIMEOUT_MS: '500',
      });
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`${options.service}: failed to start: ${REDIS_ROLES.queue} at 127.0.0.1:${port} is unreachable`);
      expect(result.stderr + result.stdout).not.toContain(secret);
      for (const password of passwords()) expect(result.stderr + result.stdout).not.toContain(password);
    });
  });
}
