/**
 * Child processes for the stack benchmark: the compiled entry (`node --conditions=evinfra-dist
 * <dist js>`, as local mode and the image run the services; `npm run bench` builds first) with its own env
 * and production's environment (NODE_OPTIONS, malloc's threshold),
 * readiness by a line on stdout or an HTTP `/health` answering 200, pause/resume with
 * SIGSTOP/SIGCONT, peak RSS from /proc, stop with SIGTERM (SIGKILL after 10 s).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pollUntil } from './stats';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * NODE_OPTIONS of the image and of local mode (Dockerfile, scripts/stack.sh): every child gets
 * it, services and bare children alike, so the comparison runs production's V8 settings on
 * both sides. `BENCH_CHILD_NODE_OPTIONS` replaces it (empty: V8's defaults).
 */
export const PRODUCTION_NODE_OPTIONS = '--max-semi-space-size=2';

/**
 * glibc malloc's mmap threshold of the image and of local mode (Dockerfile `ENV`,
 * scripts/stack.sh; docs/benchmarks/memory.md, "Event processor peak", twelfth pass): blocks of 128 KB and more are mapped
 * on their own and go back to the system when freed. Without it glibc raises the threshold to
 * the size of each such block freed, so that later ones come from its heap and can stay resident
 * after they are freed (the event processor idles 4-6 MB lower with it). Every child gets
 * it, services and bare children alike; `BENCH_CHILD_MALLOC_MMAP_THRESHOLD` replaces it
 * (empty: unset, glibc's own dynamic threshold).
 */
export const PRODUCTION_MALLOC_MMAP_THRESHOLD = '131072';

/** The environment production gives every service process: NODE_ENV, NODE_OPTIONS and malloc's threshold (with the bench's overrides). */
export function productionEnv(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const threshold = env.BENCH_CHILD_MALLOC_MMAP_THRESHOLD ?? PRODUCTION_MALLOC_MMAP_THRESHOLD;
  return {
    NODE_ENV: 'production',
    NODE_OPTIONS: env.BENCH_CHILD_NODE_OPTIONS ?? PRODUCTION_NODE_OPTIONS,
    ...(threshold === '' ? {} : { MALLOC_MMAP_THRESHOLD_: threshold }),
  };
}

/**
 * Node command-line flags a service runs with by default (V8 flags that node refuses in
 * NODE_OPTIONS): the event processor's fixed growing factor of the old generation (README
 * "Event processor peak", ninth pass). The compose `command` of each event processor and
 * scripts/stack.sh (`EVENT_PROCESSOR_NODE_FLAGS`) give the same; `test/memory-defaults.test.ts`
 * holds the three equal. The stack bench gives a bare child the flags of the service it stands
 * for (the bare readers the event processor's), so both sides run the same way.
 */
export const PRODUCTION_NODE_FLAGS = { queue: [], event: ['--heap-growing-percent=20'], dlq: [] } as const satisfies Record<string, readonly string[]>;

/** The service whose production node flags a bench child runs with. */
export type FlagRole = keyof typeof PRODUCTION_NODE_FLAGS;

/**
 * The node flags of a role's children: production's, except that `EVENT_PROCESSOR_NODE_FLAGS`
 * (as in local mode; empty: none, i.e. V8's own growing factor) replaces the event role's.
 */
export function nodeFlagsOf(role: FlagRole, env: NodeJS.ProcessEnv = process.env): string[] {
  if (role === 'event' && env.EVENT_PROCESSOR_NODE_FLAGS !== undefined) return env.EVENT_PROCESSOR_NODE_FLAGS.split(' ').filter(Boolean);
  return [...PRODUCTION_NODE_FLAGS[role]];
}

export interface BenchChild {
  name: string;
  pid: number;
  /** SIGSTOP: the process keeps its sockets but runs nothing until `resume`. */
  pause(): void;
  resume(): void;
  /** Peak resident set size (VmHWM) so far, MB; NaN when /proc is not available. */
  peakRssMb(): number;
  /** Resident set size now (VmRSS), MB; NaN when /proc is not available. */
  rssMb(): number;
  stop(): Promise<void>;
  /**
   * Writes `line` to the child's stdin and resolves with the next line it prints (without the
   * newline); only for a child spawned with `requests: true`. One request at a time.
   */
  request(line: string): Promise<string>;
}

export interface SpawnOptions {
  name: string;
  /** Source path of the entry module relative to the repository root; its compiled file runs. */
  entry: string;
  env: Record<string, string>;
  /** Ready when this URL answers 200 (polled), else when the child prints `ready`. */
  healthUrl?: string;
  timeoutMs?: number;
  /** Give the child a stdin for `request` (bare children that take work from the runner). */
  requests?: boolean;
  /** Whose production node flags it runs with (`nodeFlagsOf`); absent: none. `BENCH_CHILD_NODE_FLAGS` comes after them. */
  flags?: FlagRole;
}

/** A `/proc/<pid>/status` size field (`VmHWM`, `VmRSS`) in MB; NaN when /proc is not available. */
function statusMb(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  try {
    const match = new RegExp(`^${field}:\\s+(\\d+)\\s+kB$`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) / 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/**
 * The compiled file of a source entry: `<workspace>/src/x.ts` → `<workspace>/dist/x.js`,
 * `bench/fixtures/x.ts` → `bench/dist/fixtures/x.js` (see bench/tsconfig.build.json).
 */
export function compiledEntry(entry: string): string {
  const compiled = entry.startsWith('bench/fixtures/')
    ? entry.replace(/^bench\/fixtures\//, 'bench/dist/fixtures/')
    : entry.replace(/\/src\//, '/dist/');
  if (compiled === entry || !compiled.endsWith('.ts')) throw new Error(`no compiled file for ${entry}`);
  const path = compiled.replace(/\.ts$/, '.js');
  if (!existsSync(join(ROOT, path))) throw new Error(`${path} is missing: run npm run build && npm run build:bench`);
  return path;
}

/** Starts the child and resolves once it is ready; a child that exits first rejects with its stderr. */
export async function spawnChild(options: SpawnOptions): Promise<BenchChild> {
  const child: ChildProcess = spawn(process.execPath, [...(options.flags === undefined ? [] : nodeFlagsOf(options.flags)), ...(process.env.BENCH_CHILD_NODE_FLAGS ?? '').split(' ').filter(Boolean), '--conditions=evinfra-dist', compiledEntry(options.entry)], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', ...productionEnv(), ...options.env },
    stdio: [options.requests ? 'pipe' : 'ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let exited = false;
  // Lines printed after the one a pending `request` waits for go to the next request.
  let pendingLine = '';
  let waiting: { resolve: (line: string) => void; reject: (err: Error) => void } | undefined;
  child.stdout!.on('data', (chunk: Buffer) => {
    const text = chunk.toString();
    stdout = (stdout + text).slice(-4_000);
    if (!waiting) return;
    pendingLine += text;
    const end = pendingLine.indexOf('\n');
    if (end < 0) return;
    const line = pendingLine.slice(0, end);
    pendingLine = pendingLine.slice(end + 1);
    const current = waiting;
    waiting = undefined;
    current.resolve(line);
  });
  child.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4_000)));
  const exit = new Promise<void>((resolve) =>
    child.once('exit', () => {
      exited = true;
      waiting?.reject(new Error(`${options.name} exited during a request: ${stderr || stdout}`));
      resolve();
    }),
  );
  const handle: BenchChild = {
    name: options.name,
    pid: child.pid!,
    pause: () => void child.kill('SIGSTOP'),
    resume: () => void child.kill('SIGCONT'),
    peakRssMb: () => statusMb(child.pid!, 'VmHWM'),
    rssMb: () => statusMb(child.pid!, 'VmRSS'),
    async stop() {
      if (exited) return;
      child.kill('SIGCONT');
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exit;
      clearTimeout(timer);
    },
    request(line) {
      if (!child.stdin) return Promise.reject(new Error(`${options.name} was not spawned with requests: true`));
      if (waiting) return Promise.reject(new Error(`${options.name}: a request is already pending`));
      if (exited) return Promise.reject(new Error(`${options.name} has exited`));
      pendingLine = '';
      return new Promise<string>((resolve, reject) => {
        waiting = { resolve, reject };
        child.stdin!.write(`${line}\n`);
      });
    },
  };
  try {
    await pollUntil(
      async () => {
        if (exited) throw new Error(`${options.name} exited before it was ready: ${stderr || stdout}`);
        if (!options.healthUrl) return stdout.includes('ready');
        try {
          const response = await fetch(options.healthUrl);
          await response.arrayBuffer();
          return response.status === 200;
        } catch {
          return false;
        }
      },
      options.timeoutMs ?? 60_000,
      `${options.name} to be ready`,
      50,
    );
  } catch (caught) {
    await handle.stop();
    throw caught;
  }
  return handle;
}
