/**
 * The fault suite (`npm run test:faults`): one local-mode stack, faults in sequence under a
 * steady load. Not part of `npm test` (its files end in `.fault.ts`, which no project of the
 * root config includes); `.ci/run` runs it after `npm test`.
 */
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    name: 'faults',
    root: new URL('.', import.meta.url).pathname,
    include: ['**/*.fault.ts'],
    // One stack, one file, faults in order.
    fileParallelism: false,
    maxWorkers: 1,
    testTimeout: 240_000,
    hookTimeout: 240_000,
  },
});
