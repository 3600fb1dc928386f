import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { waitFor } from '@event-infra/testing';

const serviceDir = fileURLToPath(new URL('../..', import.meta.url));

export interface ChildProcessor {
  child: ChildProcess;
  /** Parsed JSON log lines so far. */
  lines: Record<string, unknown>[];
  url: string;
  /** Resolves with the exit code (or signal name). */
  exited: Promise<number | string>;
}

/** Runs `node --import tsx src/main.ts` as a real child process and waits until it listens. */
export async function spawnProcessor(env: Record<string, string>): Promise<ChildProcessor> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: serviceDir,
    env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: Record<string, unknown>[] = [];
  let buffered = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    const parts = buffered.split('\n');
    buffered = parts.pop() ?? '';
    for (const part of parts) {
      try {
        lines.push(JSON.parse(part) as Record<string, unknown>);
      } catch {
        // Not a log line (should not happen): keep it visible for debugging.
        lines.push({ raw: part });
      }
    }
  });
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  let exitedEarly = false;
  void exited.then(() => {
    exitedEarly = true;
  });
  const listening = await waitFor(
    () => {
      if (exitedEarly) throw new Error(`processor exited before listening: ${stderr}`);
      return lines.find((line) => line.msg === 'queue processor listening');
    },
    'the child processor to listen',
    { timeoutMs: 20_000 },
  );
  return { child, lines, url: String(listening.url), exited };
}
