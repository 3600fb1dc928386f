/**
 * A first run as a new user meets it (issue #12): the check script with nothing running says
 * how to start the stack in one line (exit 2); a start-up failure of local mode shows this run's
 * log lines only, never an older run's; the Redis passwords are not on redis-server's command
 * line in local mode.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, STACK, recordedPids, run, stackEnv } from './support/stack-runner';

const CHECKS = join(ROOT, 'test-event-infrastructure.sh');

describe('first run without surprises', () => {
  let dir: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'evinfra-first-run-'));
  });

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('the check script with nothing running prints one line saying how to start the stack, exit 2', async () => {
    const env = await stackEnv(join(dir, 'nothing'));
    const started = Date.now();
    const result = await run(CHECKS, [], env, 30_000);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`127.0.0.1:${env.QUEUE_PROCESSOR_PORT}`);
    expect(lines[0]).toContain('npm run stack:up');
    expect(lines[0]).toContain('docker compose up -d --wait');
    // Detected up front, not after every check timed out.
    expect(Date.now() - started).toBeLessThan(15_000);
  }, 40_000);

  it("a start-up failure shows this run's log lines only, and redis-server's argv holds no password", async () => {
    const env = await stackEnv(join(dir, 'failing'), { DLQ_CONCURRENCY: 'not-a-number' });
    mkdirSync(env.STACK_LOG_DIR!, { recursive: true });
    const stale = 'STALE LINE FROM AN OLDER RUN';
    writeFileSync(join(env.STACK_LOG_DIR!, 'dlq-processor.log'), `--- 2020-01-01T00:00:00Z starting dlq-processor on port 1\n${stale}\n`);
    try {
      const result = await run('bash', [STACK, 'up'], env, 120_000);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain('dlq-processor exited during start-up');
      expect(result.stderr).toContain('DLQ_CONCURRENCY');
      expect(result.stderr).not.toContain(stale);
      // The Redis started before the failure are still running: their command lines.
      const passwords = [env.REDIS_PASSWORD!, env.REDIS_STREAMS_PASSWORD!, env.REDIS_QUEUE_PASSWORD!];
      const redisPids = ['redis', 'redis-streams', 'redis-queue'].map((name) => recordedPids(env).get(name));
      expect(redisPids.every((pid) => pid !== undefined)).toBe(true);
      for (const pid of redisPids) {
        const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
        expect(cmdline).toContain('redis-server');
        for (const password of passwords) expect(cmdline).not.toContain(password);
      }
    } finally {
      await run('bash', [STACK, 'down'], env, 60_000);
    }
  }, 150_000);
});
