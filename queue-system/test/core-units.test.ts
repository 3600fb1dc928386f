import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ConfigError, JobTimeoutError, splitReservedMeta } from '@event-infra/shared';
import { concurrencyFor, loadConfig } from '../src/config';
import { createBuiltInRegistry, loadCustomHandlers } from '../src/core/create-registry';
import { effectiveTimeoutMs } from '../src/core/job-runner';
import { demoSleepHandler } from '../src/core/handlers';
import { enabledWorkQueues } from '../src/service';
import { bulkSubmissionSchema, jobSubmissionSchema } from '../src/http/schemas';
import type { EventPublisher } from '@event-infra/shared';

describe('configuration', () => {
  it('per-queue concurrency falls back to CONCURRENCY; feature flags pick the worker queues', () => {
    const config = loadConfig({ CONCURRENCY: '7', CONCURRENCY_LONG_RUNNING_JOBS: '2', CONCURRENCY_ASYNC_PROCESSING: '' });
    expect(concurrencyFor(config, 'long-running-jobs')).toBe(2);
    expect(concurrencyFor(config, 'async-processing')).toBe(7);
    expect(enabledWorkQueues(config)).toEqual(['long-running-jobs', 'async-processing', 'event-driven-jobs']);
    expect(enabledWorkQueues(loadConfig({ LONG_RUNNING_JOBS_ENABLED: 'false' }))).toEqual(['async-processing', 'event-driven-jobs']);
    expect(enabledWorkQueues(loadConfig({ QUEUE_ENABLED: 'false' }))).toEqual([]);
  });

  it('the env example block parses, with its defaults', () => {
    const text = readFileSync(fileURLToPath(new URL('../../env-example-event-infrastructure', import.meta.url)), 'utf8');
    const env = Object.fromEntries(
      text
        .split('\n')
        .filter((line) => /^[A-Z_]+=/.test(line))
        .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
    );
    const config = loadConfig(env);
    expect(config).toMatchObject({ QUEUE_ENABLED: true, MAX_JOB_DURATION: 3600, CONCURRENCY: 5, JOB_LOCK_DURATION_MS: 30_000 });
    expect(config.JOB_HANDLERS_MODULE).toBeUndefined();
    expect(config.ADMIN_USER).toBeUndefined();
  });

  it('a bad value is one ConfigError naming the variable', () => {
    expect(() => loadConfig({ CONCURRENCY_EVENT_DRIVEN_JOBS: 'many' })).toThrow(ConfigError);
    expect(() => loadConfig({ MAX_JOB_DURATION: '0' })).toThrow(/MAX_JOB_DURATION/);
    expect(() => loadConfig({ ADMIN_USER: 'admin' })).toThrow(/ADMIN_PASSWORD: must be set together/);
  });
});

describe('job runner helpers', () => {
  it('timeoutMs defaults to and is capped by MAX_JOB_DURATION', () => {
    expect(effectiveTimeoutMs(undefined, 3_600_000)).toBe(3_600_000);
    expect(effectiveTimeoutMs(5000, 3_600_000)).toBe(5000);
    expect(effectiveTimeoutMs(9_999_999, 3_600_000)).toBe(3_600_000);
  });

  it('splits the reserved metadata off the job data', () => {
    const token = 'a'.repeat(32);
    expect(splitReservedMeta({ a: 1, __dlq: { entryId: 'e', retries: 2, token } })).toEqual({ data: { a: 1 }, meta: { entryId: 'e', retries: 2, token } });
    expect(splitReservedMeta({ a: 1 })).toEqual({ data: { a: 1 }, meta: {} });
    expect(splitReservedMeta({ a: 1, __dlq: 'garbage', __other: 2 })).toEqual({ data: { a: 1 }, meta: {} });
  });

  it('demo.sleep rejects with the abort reason as soon as its signal aborts', async () => {
    const controller = new AbortController();
    const reports: number[] = [];
    const running = demoSleepHandler.handler({
      data: { durationMs: 60_000, steps: 60 },
      signal: controller.signal,
      progress: async (percent) => void reports.push(percent),
      logger: undefined as never,
      job: { id: '1', name: 'demo.sleep', queue: 'q', attempt: 1, maxAttempts: 1, timeoutMs: 100 },
    }) as Promise<unknown>;
    const reason = new JobTimeoutError(100);
    controller.abort(reason);
    await expect(running).rejects.toBe(reason);
    expect(reports).toEqual([]);
  });
});

describe('request schemas', () => {
  it('bulk takes 1 to 1000 jobs', () => {
    const job = { name: 'demo.sleep' };
    expect(bulkSubmissionSchema.safeParse({ jobs: Array.from({ length: 1000 }, () => job) }).success).toBe(true);
    const tooMany = bulkSubmissionSchema.safeParse({ jobs: Array.from({ length: 1001 }, () => job) });
    expect(tooMany.success).toBe(false);
    expect(tooMany.error?.issues[0]?.path).toEqual(['jobs']);
    expect(bulkSubmissionSchema.safeParse({ jobs: [] }).success).toBe(false);
  });

  it('job ids may not contain ":" nor be bare integers; unknown options are refused', () => {
    expect(jobSubmissionSchema.safeParse({ name: 'x', opts: { jobId: 'order-1' } }).success).toBe(true);
    expect(jobSubmissionSchema.safeParse({ name: 'x', opts: { jobId: '42' } }).success).toBe(false);
    expect(jobSubmissionSchema.safeParse({ name: 'x', opts: { jobId: 'a:b' } }).success).toBe(false);
    expect(jobSubmissionSchema.safeParse({ name: 'x', opts: { removeOnComplete: true } }).success).toBe(false);
    expect(jobSubmissionSchema.safeParse({ name: 'x', data: [1, 2] }).success).toBe(false);
  });
});

describe('handler registry and custom handler modules', () => {
  const publisher = {} as EventPublisher;

  it('built-ins are registered on every work queue, not on the DLQ', () => {
    const registry = createBuiltInRegistry({ publisher, allowedHosts: [] });
    for (const queue of ['long-running-jobs', 'async-processing', 'event-driven-jobs']) {
      expect(registry.names(queue)).toEqual(['demo.fail', 'demo.sleep', 'events.publish', 'http.request']);
    }
    expect(registry.names('dead-letter-queue')).toEqual([]);
  });

  it('loads the example module and refuses a malformed one with a clear message', async () => {
    const example = await loadCustomHandlers(fileURLToPath(new URL('../examples/custom-handlers.ts', import.meta.url)));
    expect(example.map((entry) => entry.name)).toEqual(['example.uppercase']);
    await expect(loadCustomHandlers(fileURLToPath(new URL('./fixtures/bad-handlers.ts', import.meta.url)))).rejects.toThrow(
      /entry 0 needs \{name, handler, queues\?\}/,
    );
  });
});
