/**
 * Runs last in `npm run test:cluster` (the config's sequencer puts it after every other file):
 * the logs of every stack the run started (services and Redis nodes, under
 * EVINFRA_CLUSTER_LOG_ROOT) hold no cross-slot or unfollowed-redirection error.
 */
import { describe, expect, it } from 'vitest';
import { crossSlotFindings, logFiles } from './cross-slot-guard';

describe('cross-slot guard over the run', () => {
  it('finds no CROSSSLOT, MOVED/ASK or pipeline-slot error in any stack log', () => {
    const root = process.env.EVINFRA_CLUSTER_LOG_ROOT;
    expect(root, 'run through test/cluster/vitest.config.ts').toBeTruthy();
    const files = logFiles(root!);
    // Services and Redis nodes of at least one stack: a run that started no stack proves nothing.
    expect(files.filter((file) => file.endsWith('-processor.log')).length).toBeGreaterThanOrEqual(3);
    expect(files.filter((file) => /redis-cluster-\d+\.log$/.test(file)).length).toBeGreaterThanOrEqual(6);
    expect(crossSlotFindings(root!)).toEqual([]);
  });
});
