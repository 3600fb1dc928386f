/**
 * Vitest configuration for mutation runs only (Stryker's vitest runner loads it): one project
 * with the target's test files (`MUTATE_TARGET`, see targets.mjs) on the real redis-server
 * harness. Stryker itself forces one thread per worker and stops a mutant's run at its first
 * failing test, so the fastest files go first: a mutant a unit test kills never waits for the
 * slow end-to-end files (vitest's default runs the slowest first).
 */
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
import { BaseSequencer } from 'vitest/node';
import { mutationTarget } from './targets.mjs';

const target = mutationTarget();

class FastestFirst extends BaseSequencer {
  async sort(files) {
    const cache = this.ctx.cache;
    const stats = (spec) => {
      const key = `${spec.project.name}:${relative(this.ctx.config.root, spec.moduleId)}`;
      return { duration: cache.getFileTestResults(key)?.duration, size: cache.getFileStats(key)?.size ?? 0 };
    };
    return [...files].sort((a, b) => {
      const x = stats(a);
      const y = stats(b);
      return x.duration !== undefined && y.duration !== undefined ? x.duration - y.duration : x.size - y.size;
    });
  }
}

export default defineConfig({
  root: fileURLToPath(new URL('..', import.meta.url)),
  test: {
    name: `mutate-${target.name}`,
    include: target.include,
    exclude: ['**/node_modules/**', ...target.exclude],
    globalSetup: [fileURLToPath(new URL('../packages/testing/src/global-setup.ts', import.meta.url))],
    sequence: { sequencer: FastestFirst },
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
