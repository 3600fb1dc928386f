/**
 * `npm run mutate [-- event|dlq] [-- --full] [-- --files a.ts,b.ts]`: StrykerJS over
 * event-system/src/core and dlq-system/src/core (both by default), one target after the
 * other, then one line per target with its mutation score and one per file. Not part of CI:
 * a full run takes tens of minutes. Incremental by default (results in
 * reports/mutation/<target>/); `--full` re-tests every mutant. `--files` mutates only those
 * files of the target's folder (reports in reports/mutation/<target>/files/<names>/), so a
 * long target can be measured in chunks. `MUTATE_CONCURRENCY` (default 1) sets the number of
 * sandboxes. `--summary` runs nothing: it merges the target's reports on disk (whole run and
 * chunks, the newest report per file) into one score and one line per file.
 */
import { spawn } from 'node:child_process';
import { readFile, readdir, stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { mutationTarget } from './targets.mjs';

const TARGETS = ['event', 'dlq', 'dlq-direct', 'dlq-stable'] as const;
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
  /** `--summary`: run nothing, merge the reports already there (whole target and chunks). */
  summary: boolean;
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
  const summary = rest.includes('--summary');
  const named = rest.filter((arg) => arg !== '--full' && arg !== '--summary');
  for (const name of named) {
    if (!(TARGETS as readonly string[]).includes(name)) throw new Error(`unknown target ${name}: use ${TARGETS.join(', ')}, --full, --files or --summary`);
  }
  const targets = named.length > 0 ? (named as Target[]) : [...DEFAULT_TARGETS];
  if (files !== undefined && targets.length !== 1) throw new Error('--files needs exactly one target, such as: dlq --files entry-state.ts');
  return { targets, full, summary, files };
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

/** One tested mutant as the event-recorder reporter writes it (`events/<n>-onMutantTested.json`). */
interface MutantEvent {
  fileName: string;
  status: MutantResult['status'];
}

/**
 * Mutants of one report folder: its mutation.json when the run finished, else (a run still
 * going, or stopped) the mutants its event recorder wrote so far, marked partial.
 */
async function folderMutants(folder: string): Promise<{ files: Map<string, MutantResult[]>; partial: boolean; mtimeMs: number } | undefined> {
  const report = await stat(`${folder}/mutation.json`).catch(() => undefined);
  const eventNames = (await readdir(`${folder}/events`).catch(() => [] as string[])).filter((name) => name.endsWith('-onMutantTested.json'));
  const eventsDir = await stat(`${folder}/events`).catch(() => undefined);
  const files = new Map<string, MutantResult[]>();
  if (report !== undefined && (eventsDir === undefined || report.mtimeMs >= eventsDir.mtimeMs - 1_000)) {
    const parsed = JSON.parse(await readFile(`${folder}/mutation.json`, 'utf8')) as Report;
    for (const [file, { mutants }] of Object.entries(parsed.files)) files.set(file, mutants);
    return { files, partial: false, mtimeMs: report.mtimeMs };
  }
  if (eventNames.length === 0) return undefined;
  for (const name of eventNames) {
    const event = JSON.parse(await readFile(`${folder}/events/${name}`, 'utf8')) as MutantEvent;
    const file = event.fileName.startsWith(root) ? event.fileName.slice(root.length) : event.fileName;
    files.set(file, [...(files.get(file) ?? []), { status: event.status }]);
  }
  return { files, partial: true, mtimeMs: eventsDir?.mtimeMs ?? 0 };
}

/**
 * Every file's mutants from the target's reports: the whole-target report and each chunk's
 * (`files/<names>/`); where several reports hold a file, the newest report wins.
 */
async function mergedReport(target: Target): Promise<{ files: Map<string, MutantResult[]>; reports: string[]; partial: string[] }> {
  const folder = `${root}/${mutationTarget(target).reports}`;
  const chunks = await readdir(`${folder}/files`).catch(() => [] as string[]);
  const found: { path: string; files: Map<string, MutantResult[]>; partial: boolean; mtimeMs: number }[] = [];
  for (const path of [folder, ...chunks.map((chunk) => `${folder}/files/${chunk}`)]) {
    const mutants = await folderMutants(path);
    if (mutants !== undefined) found.push({ path: path.slice(root.length), ...mutants });
  }
  const files = new Map<string, MutantResult[]>();
  for (const report of found.sort((a, b) => a.mtimeMs - b.mtimeMs)) for (const [file, mutants] of report.files) files.set(file, mutants);
  return { files, reports: found.map(({ path }) => path), partial: found.filter((report) => report.partial).map(({ path }) => path) };
}

async function printSummary(targets: readonly Target[]): Promise<void> {
  const lines: string[] = [];
  for (const target of targets) {
    const { files, reports, partial } = await mergedReport(target);
    if (files.size === 0) {
      lines.push(`${target}: no report yet`);
      continue;
    }
    lines.push(`${target}, merged from ${reports.length} report(s): mutation score ${describe(summarize([...files.values()].flat()))}`);
    if (partial.length > 0) lines.push(`    partial (run not finished; mutants tested so far only): ${partial.join(', ')}`);
    for (const [path, mutants] of [...files].sort(([a], [b]) => a.localeCompare(b))) lines.push(`    ${path}: ${describe(summarize(mutants))}`);
  }
  process.stdout.write(`Mutation scores (from the reports on disk)\n${lines.map((line) => `  ${line}`).join('\n')}\n`);
}

async function main(): Promise<void> {
  const { targets, full, summary, files } = parseArgs(process.argv.slice(2));
  if (summary) return printSummary(targets);
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
