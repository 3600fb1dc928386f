/**
 * `npm run test:cluster`: the integration tests that matter, run once against a local Redis
 * Cluster (3 masters, 3 replicas) instead of single Redis: the stack-level tests through
 * stack.sh with STACK_REDIS_CLUSTER=1 (the check script's job, DLQ and event flows; partitions
 * and replay; the timeline's event → job → DLQ → retry story; three event-processor replicas).
 * Each stack's logs go under one root that `no-cross-slot.test.ts`, run last, scans: any
 * CROSSSLOT, unfollowed MOVED/ASK or "same slot" pipeline error fails the run.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/** The usual order, then the cross-slot guard: it reads the logs every other file left. */
class GuardLast extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const isGuard = (file: TestSpecification): boolean => file.moduleId.endsWith('no-cross-slot.test.ts');
    return [...sorted.filter((file) => !isGuard(file)), ...sorted.filter(isGuard)];
  }
}

process.env.EVINFRA_TEST_REDIS_CLUSTER = '1';
// Evaluated once in the main process; workers and the global setup inherit it.
process.env.EVINFRA_CLUSTER_LOG_ROOT ??= mkdtempSync(join(tmpdir(), 'evinfra-cluster-logs-'));

export default defineConfig({
  test: {
    name: 'cluster',
    root: fileURLToPath(new URL('../..', import.meta.url)),
    include: ['test/cluster/**/*.test.ts', 'test/timeline.test.ts', 'test/event-replicas.test.ts'],
    globalSetup: [fileURLToPath(new URL('./cross-slot-guard.ts', import.meta.url))],
    sequence: { sequencer: GuardLast },
    // Each file starts a stack of 6 Redis nodes and 3-4 services: one file at a time on 2 cores.
    fileParallelism: false,
    maxWorkers: 1,
    testTimeout: 240_000,
    hookTimeout: 240_000,
  },
});
