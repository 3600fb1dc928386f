/**
 * StrykerJS configuration, one target per run (`MUTATE_TARGET=event|dlq`); `npm run mutate`
 * runs them in turn and prints the scores. Bounded for a shared 2-core machine: one or two
 * sandboxes (`MUTATE_CONCURRENCY`, default 1), per-test coverage so a mutant runs only the
 * tests that reach it, a timeout per mutant, and incremental mode (a re-run only tests the
 * mutants whose code or tests changed; `npm run mutate -- --full` forces a complete run).
 */
import { mutationTarget } from './targets.mjs';

const target = mutationTarget();
const reports = target.reports;

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  plugins: ['@stryker-mutator/vitest-runner', './mutation/ignore-logging.mjs'],
  ignorers: ['logging'],
  vitest: { configFile: 'mutation/vitest.config.mjs', related: false },
  mutate: target.mutate,
  coverageAnalysis: 'perTest',
  concurrency: Number(process.env.MUTATE_CONCURRENCY ?? 1),
  // MUTATE_IGNORE_STATIC=true: skip static mutants (module-level code that every test file
  // runs; for dlq-system/src/core 41 % of the mutants and ~80 % of the time). They are then
  // reported as ignored and left out of the score.
  ignoreStatic: process.env.MUTATE_IGNORE_STATIC === 'true',
  // A mutant's run may take timeoutFactor × its tests' normal time + timeoutMS before it
  // counts as a timeout (detected: an endless loop or a wait that never ends). Kept short: a
  // mutant that stalls a real-Redis wait would otherwise hold a sandbox for the wait's limit.
  timeoutMS: 5_000,
  // The initial run (every test file, with coverage) took over Stryker's default 5 min on a
  // loaded machine; past this it fails the whole run.
  dryRunTimeoutMinutes: 20,
  timeoutFactor: 1.5,
  incremental: true,
  incrementalFile: `${reports}/incremental.json`,
  // event-recorder: one file per tested mutant as it is tested (reports/.../events/), so a run
  // stopped before its end still tells what it measured (`npm run mutate -- <target> --summary`).
  reporters: ['clear-text', 'progress', 'json', 'html', 'event-recorder'],
  eventReporter: { baseDir: `${reports}/events` },
  jsonReporter: { fileName: `${reports}/mutation.json` },
  htmlReporter: { fileName: `${reports}/mutation.html` },
  clearTextReporter: { allowColor: false, logTests: false, reportScoreTable: true },
  thresholds: { high: 85, low: 75, break: null },
  // No tsconfig rewrite: the sandbox is a full copy of the repository, so relative paths hold,
  // and TypeScript 7 has no JavaScript API for Stryker's rewriter to call.
  tsconfigFile: 'mutation/none.tsconfig.json',
  // One temp dir per target: two targets may run at once, and each cleans its own.
  tempDirName: `.stryker-tmp-${target.reports.replace(/^reports\/mutation\//, '').replaceAll('/', '-')}`,
  cleanTempDir: 'always',
  // Other targets' (or chunks') sandboxes: a run started beside another would copy it, half-written.
  ignorePatterns: ['.data', '.logs', '.artifacts', 'coverage', 'reports', 'bench', 'docs', 'dist', '.stryker-tmp*'],
};
