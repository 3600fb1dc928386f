/**
 * What a service loads at start (issue 12, memory): the event processor does not import bullmq
 * (its trigger and dead-letter queues load it on the first job, `createLazyQueue`), and the
 * queue processor does not import Bull Board (loaded on the first request under the board's
 * path). Each is checked in a fresh node process importing the service's composition module.
 * The queue and DLQ processors load BullMQ's class files, not its root index (which also loads
 * its PostgreSQL backend, flow producer and relays): `@event-infra/shared/bullmq`, checked here
 * against BullMQ's layout so a release that moves the files fails this test; `cron-parser` and
 * luxon stay unloaded (a stand-in until a cron pattern is computed, see
 * packages/shared/test/bullmq-classes.test.ts), and so does prom-client's `@opentelemetry/api`
 * (every service; tracing, when configured, loads it: packages/shared/test/tracing.test.ts).
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import * as bullmqRoot from 'bullmq';
import * as bullmqClasses from '@event-infra/shared/bullmq';
import { OTEL_API_PATH } from '@event-infra/shared';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** The CommonJS module files a fresh process holds after importing `entry` (relative to the root). */
function modulesLoadedBy(entry: string): Promise<string[]> {
  const script = `await import(${JSON.stringify(`${ROOT}${entry}`)}); const { createRequire } = await import('node:module'); process.stdout.write(JSON.stringify(Object.keys(createRequire(${JSON.stringify(ROOT)}).cache)));`;
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`importing ${entry} failed: ${stderr}`));
      else resolve(JSON.parse(stdout) as string[]);
    });
  });
}

const from = (modules: string[], pkg: string): string[] => modules.filter((path) => path.includes(`/node_modules/${pkg}/`));

/** prom-client without `@opentelemetry/api`: only its stand-in (its index path), none of its files. */
function expectOtelApiDeferred(modules: string[]): void {
  expect(from(modules, 'prom-client').length).toBeGreaterThan(0);
  expect(from(modules, '@opentelemetry/api')).toEqual([OTEL_API_PATH]);
  expect(modules.filter((path) => path.includes('/node_modules/@opentelemetry/'))).toEqual([OTEL_API_PATH]);
}

/** Only the stand-in of `cron-parser` (its index path), none of its files or luxon's. */
function expectCronParserDeferred(modules: string[]): void {
  expect(from(modules, 'cron-parser')).toEqual([bullmqClasses.CRON_PARSER_PATH]);
  expect(from(modules, 'luxon')).toEqual([]);
}

/** A BullMQ service's start: BullMQ's class files and nothing else of it, cron-parser and the OpenTelemetry API deferred. */
function expectBullmqClassFilesOnly(modules: string[]): void {
  expect(from(modules, 'bullmq').length).toBeGreaterThan(0);
  expect(bullmqBeyondClasses(modules)).toEqual([]);
  expectCronParserDeferred(modules);
  expectOtelApiDeferred(modules);
}

/** BullMQ files beyond the classes: its root index and the PostgreSQL backend it re-exports. */
const bullmqBeyondClasses = (modules: string[]): string[] =>
  from(modules, 'bullmq').filter((path) => /\/bullmq\/dist\/[^/]+\/(index\.js|postgres\/)|\/classes\/(flow-producer|relay)/.test(path));

describe('modules loaded at start', () => {
  it('the event processor: ioredis, express and the rest, but not bullmq or Bull Board', async () => {
    const modules = await modulesLoadedBy('event-system/src/service.ts');
    expect(from(modules, 'ioredis').length).toBeGreaterThan(0);
    expect(from(modules, 'express').length).toBeGreaterThan(0);
    expect(from(modules, 'bullmq')).toEqual([]);
    expect(from(modules, '@bull-board')).toEqual([]);
    expectOtelApiDeferred(modules);
  });

  it("the queue processor: BullMQ's class files, not its root index, and not Bull Board", async () => {
    const modules = await modulesLoadedBy('queue-system/src/service.ts');
    expectBullmqClassFilesOnly(modules);
    expect(from(modules, '@bull-board')).toEqual([]);
  });

  it("the DLQ processor: BullMQ's class files, not its root index", async () => {
    const modules = await modulesLoadedBy('dlq-system/src/service.ts');
    expectBullmqClassFilesOnly(modules);
  });
});

describe('@event-infra/shared/bullmq', () => {
  it("loads files that exist in the installed BullMQ and exports the root index's own classes", () => {
    const bullmqDir = createRequire(import.meta.url).resolve('bullmq').replace(/dist\/cjs\/index\.js$/, '');
    for (const file of bullmqClasses.BULLMQ_CLASS_FILES) expect(existsSync(`${bullmqDir}${file}`), file).toBe(true);
    for (const name of ['Queue', 'Worker', 'QueueEvents', 'Job', 'UnrecoverableError', 'DelayedError'] as const) {
      expect(bullmqClasses[name], name).toBeTypeOf('function');
      expect(bullmqClasses[name], name).toBe(bullmqRoot[name]);
    }
  });
});
