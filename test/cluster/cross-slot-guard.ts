/**
 * Global setup of `npm run test:cluster`: after every file ran, reads every log the stacks wrote
 * under EVINFRA_CLUSTER_LOG_ROOT (services and Redis nodes) and fails the run, naming file and
 * line, if any shows a command the stack sent across slots (CROSSSLOT, a pipeline over slots) or
 * a redirection the client did not follow (MOVED/ASK reaching the application).
 */
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';

const PATTERNS = [/CROSSSLOT/, /\bMOVED \d+ /, /\bASK \d+ /, /should belong to the same slot/, /same slots allocation group/];

function logFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? logFiles(path) : name.endsWith('.log') ? [path] : [];
  });
}

/** Every log line (file:line: text, cut to 300 characters) that shows a cross-slot or redirection error. */
export function crossSlotFindings(root: string): string[] {
  const findings: string[] = [];
  for (const file of logFiles(root)) {
    readFileSync(file, 'utf8')
      .split('\n')
      .forEach((line, index) => {
        if (PATTERNS.some((pattern) => pattern.test(line))) findings.push(`${file}:${index + 1}: ${line.slice(0, 300)}`);
      });
  }
  return findings;
}

export function setup(): void {}

export function teardown(): void {
  const root = process.env.EVINFRA_CLUSTER_LOG_ROOT;
  if (!root) throw new Error('EVINFRA_CLUSTER_LOG_ROOT is not set: run through test/cluster/vitest.config.ts');
  const files = logFiles(root);
  const findings = crossSlotFindings(root);
  if (files.length === 0) throw new Error(`cross-slot guard: no logs under ${root} (did any stack run?)`);
  if (findings.length > 0) {
    throw new Error(`cross-slot guard: ${findings.length} line(s) in ${files.length} logs:\n${findings.slice(0, 20).join('\n')}`);
  }
  process.stdout.write(`cross-slot guard: ${files.length} logs, no CROSSSLOT or redirection error\n`);
  rmSync(root, { recursive: true, force: true });
}
