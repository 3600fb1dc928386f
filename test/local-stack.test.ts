/**
 * Local mode end to end: `scripts/stack.sh up` with every port moved to a free one and a temp
 * data dir, then `./test-event-infrastructure.sh` against it, the README's `XADD` example,
 * and `down`. Also the two refusals: a port already taken, and no `redis-server` on PATH.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, existsSync, mkdirSync, symlinkSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BULL_PREFIX, createRedis, deadLetterJobId, waitForAll, type Redis } from '@event-infra/shared';
import { silentLogger, waitFor } from '@event-infra/testing';
import { PRODUCTION_MALLOC_MMAP_THRESHOLD, PRODUCTION_NODE_FLAGS } from '../bench/lib/child';
import { ROOT, STACK, isAlive, recordedPids, run, stackEnv } from './support/stack-runner';

const CHECKS = join(ROOT, 'test-event-infrastructure.sh');

/** Pids recorded in the run dir (services and Redis). */
const recordedPidList = (env: NodeJS.ProcessEnv): number[] => [...recordedPids(env).values()];


/** The fields of the README's `REDISCLI_AUTH=… redis-cli … XADD <stream> '*' f v …` example. */
function readmeExampleFields(): string[] {
  const lines = readFileSync(join(ROOT, 'README.md'), 'utf8').split('\n');
  const start = lines.findIndex((line) => line.startsWith('REDISCLI_AUTH=') && line.includes(' XADD '));
  if (start < 0) throw new Error('README has no `REDISCLI_AUTH=… redis-cli … XADD` example');
  let command = '';
  for (let index = start; index < lines.length; index += 1) {
    const line = lines[index]!;
    command += ` ${line.replace(/\\$/, '')}`;
    if (!line.endsWith('\\')) break;
  }
  const words = [...command.matchAll(/'([^']*)'|(\S+)/g)].map((word) => word[1] ?? word[2]!);
  // XADD <stream> * field value …
  return words.slice(words.indexOf('XADD') + 3);
}

/** Stream ids `<ms>-<seq>` compared numerically. */
function entryIdAtLeast(a: string, b: string): boolean {
  const [aMs, aSeq] = a.split('-').map(BigInt) as [bigint, bigint];
  const [bMs, bSeq] = b.split('-').map(BigInt) as [bigint, bigint];
  return aMs > bMs || (aMs === bMs && aSeq >= bSeq);
}

describe('local mode (scripts/stack.sh)', () => {
  let dir: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'evinfra-stack-'));
  });

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses in one line when a port is already taken, and starts nothing', async () => {
    const env = await stackEnv(join(dir, 'taken'));
    const blocker: Server = createServer();
    const port = Number(new URL(env.REDIS_STREAMS_URL!).port);
    await new Promise<void>((resolve) => blocker.listen(port, '127.0.0.1', resolve));
    try {
      const result = await run('bash', [STACK, 'up'], env, 30_000);
      expect(result.code).toBe(1);
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
      expect(result.stderr).toContain(`port ${port} (redis-streams, REDIS_STREAMS_URL) is already in use`);
      expect(recordedPidList(env)).toEqual([]);
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });

  it('refuses when redis-server is not on PATH, saying how to install it', async () => {
    const env = await stackEnv(join(dir, 'no-redis'));
    // A PATH with every tool of the real one except redis-server.
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    for (const pathDir of (process.env.PATH ?? '').split(':')) {
      if (!pathDir || !existsSync(pathDir)) continue;
      for (const name of readdirSync(pathDir)) {
        if (name === 'redis-server' || existsSync(join(bin, name))) continue;
        symlinkSync(join(pathDir, name), join(bin, name));
      }
    }
    const result = await run('bash', [STACK, 'up'], { ...env, PATH: bin }, 30_000);
    expect(result.code).toBe(1);
    expect(result.stderr.trim()).toBe('stack: redis-server is not installed: apt-get install -y redis-server');
    expect(recordedPidList(env)).toEqual([]);
  });

  describe('up, checks, down', () => {
    let env: NodeJS.ProcessEnv;
    let streams: Redis | undefined;
    let queue: Redis | undefined;

    beforeAll(async () => {
      env = await stackEnv(join(dir, 'stack'));
      const up = await run('bash', [STACK, 'up'], env, 120_000);
      if (up.code !== 0) {
        await run('bash', [STACK, 'down'], env, 60_000);
        throw new Error(`stack.sh up failed (${up.code}):\n${up.stdout}\n${up.stderr}`);
      }
      const logger = silentLogger();
      streams = createRedis({ url: env.REDIS_STREAMS_URL!, password: env.REDIS_STREAMS_PASSWORD, role: 'redis-streams', profile: 'producer', logger });
      queue = createRedis({ url: env.REDIS_QUEUE_URL!, password: env.REDIS_QUEUE_PASSWORD, role: 'redis-queue', profile: 'producer', logger });
      await waitForAll({ streams, queue }, 10_000);
    }, 150_000);

    afterAll(async () => {
      streams?.disconnect();
      queue?.disconnect();
      // Safety net when a test failed before its own `down`; a no-op otherwise.
      await run('bash', [STACK, 'down'], env, 60_000);
    }, 90_000);

    it('passes every check of test-event-infrastructure.sh', async () => {
      const result = await run(CHECKS, [], env, 120_000);
      const lines = result.stdout.trim().split('\n');
      const checks = lines.filter((line) => /^(PASS|FAIL) /.test(line));
      expect(checks.length).toBeGreaterThanOrEqual(15);
      expect(checks.filter((line) => !line.startsWith('PASS '))).toEqual([]);
      expect(lines.at(-1)).toMatch(/^\d+ passed, 0 failed$/);
      expect(result.code, result.stderr).toBe(0);
      // Its pub/sub subscribers stop with it (a leftover redis-cli would hold the caller's pipe).
      const port = new URL(env.REDIS_URL!).port;
      const leftovers = await run('pgrep', ['-f', `redis-cli -h 127.0.0.1 -p ${port} `], env, 10_000);
      expect(leftovers.stdout.trim(), 'redis-cli processes left by the check script').toBe('');
    }, 150_000);

    it('up again is a no-op that reports what is already running', async () => {
      const before = recordedPidList(env).sort();
      const result = await run('bash', [STACK, 'up'], env, 60_000);
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toContain('already running: redis redis-streams redis-queue queue-processor event-processor dlq-processor');
      expect(recordedPidList(env).sort()).toEqual(before);
      const status = await run('bash', [STACK, 'status'], env, 30_000);
      expect(status.code, status.stdout).toBe(0);
    }, 90_000);

    it('runs the event processor with its production node flags, the other services without', () => {
      const pids = recordedPids(env);
      const argv = (name: string): string[] => readFileSync(`/proc/${pids.get(name)}/cmdline`, 'utf8').split('\0');
      expect(PRODUCTION_NODE_FLAGS.event.length).toBeGreaterThan(0);
      for (const flag of PRODUCTION_NODE_FLAGS.event) expect(argv('event-processor')).toContain(flag);
      for (const name of ['queue-processor', 'dlq-processor']) {
        expect(argv(name).filter((arg) => PRODUCTION_NODE_FLAGS.event.some((flag) => arg === flag))).toEqual([]);
      }
    });

    it("runs every service with the image's malloc threshold in its environment", () => {
      const pids = recordedPids(env);
      for (const name of ['queue-processor', 'event-processor', 'dlq-processor']) {
        const environ = readFileSync(`/proc/${pids.get(name)}/environ`, 'utf8').split('\0');
        expect(environ.filter((entry) => entry.startsWith('MALLOC_MMAP_THRESHOLD_=')), name).toEqual([`MALLOC_MMAP_THRESHOLD_=${PRODUCTION_MALLOC_MMAP_THRESHOLD}`]);
      }
    });

    it("acknowledges the README's XADD example without dead-lettering it (and dead-letters a broken copy)", async () => {
      const fields = readmeExampleFields();
      expect(fields).toContain('workspace.created');
      const stream = env.STREAM_NAME ?? 'pyairtable-events';
      const group = env.CONSUMER_GROUP ?? 'event-processors';
      const dlqName = env.DLQ_QUEUE_NAME ?? 'dead-letter-queue';
      const good = (await streams!.xadd(stream, '*', ...fields))!;
      const broken = [...fields];
      broken[broken.indexOf('data') + 1] = '{"workspaceId":"ws_42"}';
      const bad = (await streams!.xadd(stream, '*', ...broken))!;
      const dlqJobId = (entryId: string): string =>
        deadLetterJobId({ origin: { kind: 'event', stream, group, entryId } });
      const deadLettered = async (entryId: string): Promise<boolean> => {
        const events = await queue!.xrange(`${BULL_PREFIX}:${dlqName}:events`, '-', '+');
        return events.some(([, eventFields]) => eventFields.includes(dlqJobId(entryId)));
      };
      // Both entries are acknowledged: nothing of the group is pending, the group read past them.
      await waitFor(async () => {
        const pending = (await streams!.xpending(stream, group, '-', '+', 1000)) as [string, ...unknown[]][];
        const groups = (await streams!.xinfo('GROUPS', stream)) as unknown[][];
        const info = groups.find((entry) => entry[1] === group)!;
        const lastDelivered = String(info[info.indexOf('last-delivered-id') + 1]);
        return entryIdAtLeast(lastDelivered, bad) && !pending.some(([id]) => id === good || id === bad);
      }, 'both entries acknowledged', { timeoutMs: 20_000 });
      await waitFor(() => deadLettered(bad), 'the broken copy in the DLQ', { timeoutMs: 10_000 });
      expect(await deadLettered(good)).toBe(false);
    }, 60_000);

    it('down stops every process and frees every port', async () => {
      const pids = recordedPidList(env);
      expect(pids.length).toBe(6);
      const result = await run('bash', [STACK, 'down'], env, 90_000);
      expect(result.code, result.stderr).toBe(0);
      expect(pids.filter(isAlive)).toEqual([]);
      expect(recordedPidList(env)).toEqual([]);
      const ports = [env.REDIS_URL, env.REDIS_STREAMS_URL, env.REDIS_QUEUE_URL].map((url) => Number(new URL(url!).port));
      ports.push(Number(env.QUEUE_PROCESSOR_PORT), Number(env.EVENT_PROCESSOR_PORT), Number(env.DLQ_PROCESSOR_PORT));
      for (const port of ports) {
        const probe = createServer();
        await new Promise<void>((resolve, reject) => probe.once('error', reject).listen(port, '127.0.0.1', resolve));
        await new Promise((resolve) => probe.close(resolve));
      }
      // AOF kept for the next `up`.
      expect(existsSync(join(env.STACK_DATA_DIR!, 'redis-streams', 'appendonlydir'))).toBe(true);
    }, 120_000);
  });
});
