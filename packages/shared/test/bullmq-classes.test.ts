/**
 * `@event-infra/shared/bullmq` (issue 12, memory): BullMQ's classes from their own files, with
 * `cron-parser` (and luxon) deferred until a cron pattern is computed. In a fresh process, since
 * a test worker may have loaded BullMQ's root index (and the real parser) already.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, inject, it } from 'vitest';
import { uniqueName } from '@event-infra/testing';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));

function runFresh(script: string, env: Record<string, string>): Promise<unknown> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: ROOT, env: { ...process.env, ...env } }, (error, stdout, stderr) => {
      if (error) reject(new Error(`fresh process failed: ${stderr}`));
      else resolve(JSON.parse(stdout));
    });
  });
}

describe('@event-infra/shared/bullmq', () => {
  it('a cron job scheduler still works: the parser (and luxon) load when its pattern is computed, not before', async () => {
    const script = `
      const { createRequire } = await import('node:module');
      const cache = createRequire(${JSON.stringify(ROOT)}).cache;
      const luxon = () => Object.keys(cache).some((path) => path.includes('/node_modules/luxon/'));
      const { Queue, CRON_PARSER_PATH } = await import('@event-infra/shared/bullmq');
      const atImport = { luxon: luxon(), standIn: cache[CRON_PARSER_PATH] !== undefined };
      const queue = new Queue(process.env.QUEUE_NAME, { connection: { url: process.env.REDIS_URL, maxRetriesPerRequest: null } });
      await queue.upsertJobScheduler('every-5s', { pattern: '*/5 * * * * *' }, { name: 'tick', data: { n: 1 } });
      const scheduler = await queue.getJobScheduler('every-5s');
      // Delayed until the next boundary, or already waiting when that boundary is now.
      const delayed = await queue.getJobs(['delayed', 'wait']);
      const after = { luxon: luxon() };
      await queue.obliterate({ force: true });
      await queue.close();
      process.stdout.write(JSON.stringify({ atImport, after, next: scheduler?.next, pattern: scheduler?.pattern, delayed: delayed.map((job) => job.name), now: Date.now() }));
    `;
    const result = (await runFresh(script, { REDIS_URL: inject('redis').queue, QUEUE_NAME: uniqueName('cron') })) as {
      atImport: { luxon: boolean; standIn: boolean }; after: { luxon: boolean }; next: number; pattern: string; delayed: string[]; now: number;
    };
    expect(result.atImport).toEqual({ luxon: false, standIn: true });
    expect(result.pattern).toBe('*/5 * * * * *');
    expect(result.delayed).toEqual(['tick']);
    // The next run is on a 5-second boundary within the next 5 seconds: the pattern was parsed.
    expect(result.next % 5_000).toBe(0);
    expect(result.next - result.now).toBeGreaterThan(-1_000);
    expect(result.next - result.now).toBeLessThanOrEqual(5_000);
    expect(result.after.luxon).toBe(true);
  });
});
