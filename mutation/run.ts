/**
 * `npm run mutate [-- event|dlq] [-- --full]`: StrykerJS over event-system/src/core and
 * dlq-system/src/core (both by default), one target after the other, then one line per
 * target with its mutation score. Not part of CI: a full run takes tens of minutes.
 * Incremental by default (results in reports/mutation/<target>/); `--full` re-tests every
 * mutant. `MUTATE_CONCURRENCY` (default 1) sets the number of sandboxes.
 */
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

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

function parseArgs(argv: readonly string[]): { targets: Target[]; full: boolean } {
  const full = argv.includes('--full');
  const named = argv.filter((arg) => arg !== '--full');
  for (const name of named) {
    if (!(TARGETS as readonly string[]).includes(name)) throw new Error(`unknown target ${name}: use ${TARGETS.join(', ')} or --full`);
  }
  return { targets: named.length > 0 ? (named as Target[]) : [...DEFAULT_TARGETS], full };
}

function runStryker(target: Target, full: boolean): Promise<number> {
  const args = ['stryker', 'run', 'mutation/stryker.config.mjs', ...(full ? ['--force'] : [])];
  const child = spawn('npx', args, {
    cwd: root,
    stdio: 'inherit',
    // Real redis-server processes for the tests, never a container.
    env: { ...process.env, MUTATE_TARGET: target, EVINFRA_TEST_REDIS: process.env.EVINFRA_TEST_REDIS ?? 'process' },
  });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code) => resolve(code ?? 1));
  });
}

/** Stryker's score: detected (killed + timeout) / valid mutants (ignored and errors left out). */
function summarize(report: Report): { score: number; killed: number; timeout: number; survived: number; noCoverage: number; total: number } {
  const all = Object.values(report.files).flatMap((file) => file.mutants);
  const count = (status: MutantResult['status']): number => all.filter((mutant) => mutant.status === status).length;
  const killed = count('Killed');
  const timeout = count('Timeout');
  const survived = count('Survived');
  const noCoverage = count('NoCoverage');
  const total = killed + timeout + survived + noCoverage;
  return { score: total === 0 ? 0 : (100 * (killed + timeout)) / total, killed, timeout, survived, noCoverage, total };
}

async function main(): Promise<void> {
  const { targets, full } = parseArgs(process.argv.slice(2));
  const lines: string[] = [];
  let failed = false;
  for (const target of targets) {
    const started = Date.now();
    const code = await runStryker(target, full);
    const minutes = ((Date.now() - started) / 60_000).toFixed(1);
    if (code !== 0) {
      failed = true;
      lines.push(`${target}: stryker exited ${code} after ${minutes} min`);
      continue;
    }
    const report = JSON.parse(await readFile(`${root}/reports/mutation/${target}/mutation.json`, 'utf8')) as Report;
    const s = summarize(report);
    lines.push(
      `${target}: mutation score ${s.score.toFixed(1)} % (${s.killed} killed, ${s.timeout} timed out, ${s.survived} survived, ${s.noCoverage} without coverage, of ${s.total}) in ${minutes} min; report reports/mutation/${target}/mutation.html`,
    );
  }
  process.stdout.write(`\nMutation scores\n${lines.map((line) => `  ${line}`).join('\n')}\n`);
  if (failed) process.exitCode = 1;
}

await main();
