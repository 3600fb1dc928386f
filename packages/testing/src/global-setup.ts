import 'vitest';
import type { TestProject } from 'vitest/node';
import { startRedisStack, type RedisStack } from './redis-stack';

declare module 'vitest' {
  export interface ProvidedContext {
    /** URLs (with password) of the three Redis instances the global setup started. */
    redis: { master: string; streams: string; queue: string };
  }
}

let stack: RedisStack | undefined;

/** Vitest global setup: three real Redis servers for the whole run, stopped at the end. */
export async function setup(project: TestProject): Promise<void> {
  stack = await startRedisStack();
  project.provide('redis', stack.urls);
}

export async function teardown(): Promise<void> {
  await stack?.stop();
}
