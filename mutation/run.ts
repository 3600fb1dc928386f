/**
 * `npm run mutate [-- event|dlq] [-- --full] [-- --files a.ts,b.ts]`: StrykerJS over
 * event-system/src/core and dlq-system/src/core (both by default), one target after the
 * other, then one line per target with its mutation score and one per file. Not part of CI:
 * a full run takes tens of minutes. Incremental by default (results in
 * reports/mutation/<target>/); `--full` re-tests every mutant. `--files` mutates only those
 * files of the target's folder (reports in reports/mutation/<target>/files/<names>/), so a
 * long target can be measured in chunks. `MUTATE_CONCURRENCY` (default 1) sets the number of
 * sandboxes.
 */
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { mutationTarget } from './targets.mjs';

const TARGETS = ['event', 'dlq', 'dlq-stable'] as const;
/** Run when no target is named. */
const DEFAULT_TARGETS: readonly Target[] = ['event', 'dlq'];
type Target = (typeof TARGETS)[number];

interface MutantResult {
  status: 'Killed' | 'Survived' | 'NoCoverage' | 'Timeout' | 'CompileError' | 'RuntimeError' | 'Ignored' | 'Pending';
}

interface Report {
  files: Record<string, { mutants: MutantResult[] }>;
}

const root = fileURLToPath(new URL('..', import.meta.url));

interface Args {
  targets: Target[];
  full: boolean;
  /** Comma-separated file names (`--files`), or undefined for the whole target. */
  files: string | undefined;
}

function parseArgs(argv: readonly string[]): Args {
  const rest = [...argv];
  let files: string | undefined;
  const at = rest.findIndex((arg) => arg === '--files' || arg.startsWith('--files='));
  if (at >= 0) {
    const arg = rest[at] ?? '';
    files = arg.startsWith('--files=') ? arg.slice('--files='.length) : rest[at + 1];
    rest.splice(at, arg.startsWith('--files=') ? 1 : 2);
    if (files === undefined || files === '' || files.startsWith('--')) throw new Error('--files needs a comma-separated list, such as --files entry-state.ts,dlq-store.ts');
  }
  const full = rest.includes('--full');
  const named = rest.filter((arg) => arg !== '--full');
  for (const name of named) {
    if (!(TARGETS as readonly string[]).includes(name)) throw new Error(`unknown target ${name}: use ${TARGETS.join(', ')}, --full or --files`);
  }
  const targets = named.length > 0 ? (named as Target[]) : [...DEFAULT_TARGETS];
  if (files !== undefined && targets.length !== 1) throw new Error('--files needs exactly one target, such as: dlq --files entry-state.ts');
  return { targets, full, files };
}

function runStryker(target: Target, full: boolean, files: string | undefined): Promise<number> {
  const args = ['stryker', 'run', 'mutation/stryker.config.mjs', ...(full ? ['--force'] : [])];
  const child = spawn('npx', args, {
    cwd: root,
    stdio: 'inherit',
    // Real redis-server processes for the tests, never a container.
    env: {
      ...process.env,
      MUTATE_TARGET: target,
      ...(files === undefined ? {} : { MUTATE_FILES: files }),
      EVINFRA_TEST_REDIS: process.env.EVINFRA_TEST_REDIS ?? 'process',
    },
  });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code) => resolve(code ?? 1));
  });
}

interface Summary {
  score: number;
  /** Detected / mutants some test reaches (no-coverage ones left out). */
  coveredScore: number;
  killed: number;
  timeout: number;
  survived: number;
  noCoverage: number;
  total: number;
}

/** Stryker's score: detected (killed + timeout) / valid mutants (ignored and errors left out). */
function summarize(mutants: readonly MutantResult[]): Summary {
  const count = (status: MutantResult['status']): number => mutants.filter((mutant) => mutant.status === status).length;
  const killed = count('Killed');
  const timeout = count('Timeout');
  const survived = count('Survived');
  const noCoverage = count('NoCoverage');
  const total = killed + timeout + survived + noCoverage;
  const covered = total - noCoverage;
  const percent = (part: number, whole: number): number => (whole === 0 ? 0 : (100 * part) / whole);
  return { score: percent(killed + timeout, total), coveredScore: percent(killed + timeout, covered), killed, timeout, survived, noCoverage, total };
}

function describe(s: Summary): string {
  return `${s.score.toFixed(1)} % (covered ${s.coveredScore.toFixed(1)} %; ${s.killed} killed, ${s.timeout} timed out, ${s.survived} survived, ${s.noCoverage} without coverage, of ${s.total})`;
}


async function main(): Promise<void> {
  const { targets, full, files } = parseArgs(process.argv.slice(2));
  const lines: string[] = [];
  let failed = false;
  for (const target of targets) {
    const started = Date.now();
    const code = await runStryker(target, full, files);
    const minutes = ((Date.now() - started) / 60_000).toFixed(1);
    if (code !== 0) {
      failed = true;
      lines.push(`${target}: stryker exited ${code} after ${minutes} min`);
      continue;
    }
    const reports = mutationTarget(target, files).reports;
    const report = JSON.parse(await readFile(`${root}/${reports}/mutation.json`, 'utf8')) as Report;
    lines.push(`${target}${files === undefined ? '' : ` (${files})`}: mutation score ${describe(summarize(Object.values(report.files).flatMap((file) => file.mutants)))} in ${minutes} min; report ${reports}/mutation.html`);
    for (const [path, file] of Object.entries(report.files).sort(([a], [b]) => a.localeCompare(b))) {
      lines.push(`    ${path}: ${describe(summarize(file.mutants))}`);
    }
  }
  process.stdout.write(`\nMutation scores\n${lines.map((line) => `  ${line}`).join('\n')}\n`);
  if (failed) process.exitCode = 1;
}

await main();
