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

const CROSS_SLOT = [/CROSSSLOT/, /should belong to the same slot/, /same slots allocation group/];
/**
 * A redirection that reached the application. Not when the cluster client gave up following
 * redirections during a failover ("Too many Cluster redirections. Last error: … MOVED"): that is
 * a slot without a master for a few seconds (answered 503), which the failover test provokes.
 */
const UNFOLLOWED = [/\bMOVED \d+ /, /\bASK \d+ /];
const GAVE_UP_IN_FAILOVER = /Too many Cluster redirections/;

function isFinding(line: string): boolean {
  if (CROSS_SLOT.some((pattern) => pattern.test(line))) return true;
  return !GAVE_UP_IN_FAILOVER.test(line) && UNFOLLOWED.some((pattern) => pattern.test(line));
}

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
        if (isFinding(line)) findings.push(`${file}:${index + 1}: ${line.slice(0, 300)}`);
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
