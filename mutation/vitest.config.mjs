/**
 * Vitest configuration for mutation runs only (Stryker's vitest runner loads it): one project
 * with the target's test files (`MUTATE_TARGET`, see targets.mjs) on the real redis-server
 * harness. Stryker itself forces one thread per worker.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
import { mutationTarget } from './targets.mjs';

const target = mutationTarget();

export default defineConfig({
  root: fileURLToPath(new URL('..', import.meta.url)),
  test: {
    name: `mutate-${target.name}`,
    include: target.include,
    exclude: ['**/node_modules/**', ...target.exclude],
    globalSetup: [fileURLToPath(new URL('../packages/testing/src/global-setup.ts', import.meta.url))],
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
