/**
 * Mutation targets (`npm run mutate`): the sources Stryker mutates and the test files that may
 * kill their mutants. Left out everywhere: crash and restart tests (their child processes run
 * without Stryker's mutant switch, so they cannot kill a mutant) and the service contract
 * suites (they kill and restart the shared Redis servers mid-run).
 *
 * @type {Record<string, { mutate: string[]; include: string[]; exclude: string[] }>}
 */
export const MUTATION_TARGETS = {
  event: {
    mutate: ['event-system/src/core/**/*.ts'],
    include: ['event-system/test/**/*.test.ts'],
    exclude: ['event-system/test/crash.test.ts', 'event-system/test/health.test.ts'],
  },
  dlq: {
    mutate: ['dlq-system/src/core/**/*.ts'],
    include: ['dlq-system/test/**/*.test.ts'],
    exclude: ['dlq-system/test/dlq-restart.test.ts', 'dlq-system/test/health.test.ts'],
  },
  // All of dlq-system/src/core against its direct test files only: each builds the core's
  // classes on real Redis and calls them (no processor, no HTTP), so a mutant's run takes
  // seconds where the end-to-end files take tens. Its score is a lower bound of `dlq`'s
  // (same mutants, a subset of the tests): the one measurable on a shared 2-core machine.
  'dlq-direct': {
    mutate: ['dlq-system/src/core/**/*.ts'],
    include: [
      'dlq-system/test/entry-state.test.ts',
      'dlq-system/test/dlq-handler*.test.ts',
      'dlq-system/test/recovery-tracker.test.ts',
      'dlq-system/test/dlq-store.test.ts',
      'dlq-system/test/alerter.test.ts',
      'dlq-system/test/origin-sender.test.ts',
      'dlq-system/test/dlq-workers.test.ts',
      'dlq-system/test/dlq-classifier*.test.ts',
      'dlq-system/test/retry-policy.test.ts',
      'dlq-system/test/webhook-sender*.test.ts',
    ],
    exclude: [],
  },
  // The DLQ's pure modules outside the entry state machine, with their unit tests only: a
  // quick run. Their module-level rule tables are "static" mutants, each of which runs every
  // test file of the target, so a small, fast test set matters.
  'dlq-stable': {
    mutate: ['dlq-system/src/core/dlq-classifier.ts', 'dlq-system/src/core/retry-policy.ts', 'dlq-system/src/core/webhook-sender.ts'],
    include: ['dlq-system/test/dlq-classifier*.test.ts', 'dlq-system/test/retry-policy.test.ts', 'dlq-system/test/webhook-sender*.test.ts'],
    exclude: [],
  },
};

/**
 * The target named by `MUTATE_TARGET` (event | dlq | dlq-stable), or an error naming the
 * choices. `MUTATE_FILES` (comma-separated file names of the target's folder, such as
 * `entry-state.ts,dlq-store.ts`) narrows what is mutated to those files, with reports of
 * their own (`reports/mutation/<target>/files/<names>/`) so chunks can run one after the
 * other, each with its incremental file; the test set stays the target's.
 */
export function mutationTarget(name = process.env.MUTATE_TARGET, files = process.env.MUTATE_FILES) {
  const target = name === undefined ? undefined : MUTATION_TARGETS[name];
  if (!target) throw new Error(`MUTATE_TARGET must be one of: ${Object.keys(MUTATION_TARGETS).join(', ')}`);
  const selected = selectFiles(target.mutate, files);
  return {
    name,
    ...target,
    mutate: selected ?? target.mutate,
    reports: selected ? `reports/mutation/${name}/files/${selected.map((file) => file.split('/').pop().replace(/\.ts$/, '')).join('+')}` : `reports/mutation/${name}`,
  };
}

/** The target's files named in `files` (names inside the target's folder), or undefined for all. */
function selectFiles(globs, files) {
  if (files === undefined || files.trim() === '') return undefined;
  const names = [...new Set(files.split(',').map((file) => file.trim()).filter((file) => file !== ''))].sort();
  return names.map((file) => {
    if (!/^[\w-]+(\.[\w-]+)*\.ts$/.test(file)) throw new Error(`MUTATE_FILES: ${file} is not a .ts file name`);
    const path = globs.map((glob) => (glob.endsWith('/**/*.ts') ? `${glob.slice(0, -'**/*.ts'.length)}${file}` : glob)).find((candidate) => candidate.endsWith(`/${file}`));
    if (path === undefined) throw new Error(`MUTATE_FILES: ${file} is not among this target's files (${globs.join(', ')})`);
    return path;
  });
}
