import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const shared = {
  globalSetup: [fileURLToPath(new URL('./packages/testing/src/global-setup.ts', import.meta.url))],
  testTimeout: 30_000,
  hookTimeout: 60_000,
};

export default defineConfig({
  test: {
    // Two cores: at most two test files at a time keeps real-Redis timing honest.
    maxWorkers: 2,
    projects: [
      { test: { ...shared, name: 'shared', root: './packages/shared', include: ['test/**/*.test.ts'] } },
      { test: { ...shared, name: 'queue-system', root: './queue-system', include: ['test/**/*.test.ts'] } },
      { test: { ...shared, name: 'event-system', root: './event-system', include: ['test/**/*.test.ts'] } },
      { test: { ...shared, name: 'dlq-system', root: './dlq-system', include: ['test/**/*.test.ts'] } },
      // test/cluster runs on its own (npm run test:cluster: a Redis Cluster instead of single Redis).
      { test: { ...shared, name: 'stack', root: './test', include: ['**/*.test.ts'], exclude: ['cluster/**', '**/node_modules/**'] } },
    ],
  },
});
