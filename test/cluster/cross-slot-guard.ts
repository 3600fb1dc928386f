/**
 * The cross-slot guard of `npm run test:cluster`: finds, in every log the stacks wrote under
 * EVINFRA_CLUSTER_LOG_ROOT (services and Redis nodes), each line that shows a command the stack
 * sent across slots (CROSSSLOT, a pipeline over slots) or a redirection the client did not follow
 * (MOVED/ASK reaching the application). `no-cross-slot.test.ts` asserts there is none; as the
 * run's global setup this module removes the log root at the end (vitest ignores a teardown's
 * failure for the exit code, so the check is a test, sequenced last).
 */
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';

const PATTERNS = [/CROSSSLOT/, /\bMOVED \d+ /, /\bASK \d+ /, /should belong to the same slot/, /same slots allocation group/];

/** Every `.log` file under `dir`, recursively. */
export function logFiles(dir: string): string[] {
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
  // Kept when asked (to read a failed run's logs), else removed with the run.
  if (root && process.env.EVINFRA_KEEP_CLUSTER_LOGS !== '1') rmSync(root, { recursive: true, force: true });
}
