import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';

export interface RedisServerOptions {
  /** Default: a random password (Redis always runs with one, as in the stack). */
  password?: string;
  /** AOF persistence (`appendonly yes`, `appendfsync everysec`). Default false. */
  appendOnly?: boolean;
  /** Data directory; default a fresh temp dir removed on `stop()` (kept when given). */
  dir?: string;
  /** Fixed port; default a free one. */
  port?: number;
}

export interface RedisServer {
  url: string;
  /** URL without the password, for code that takes the password separately. */
  urlWithoutPassword: string;
  host: string;
  port: number;
  password: string;
  dir: string;
  process: ChildProcess;
  /** SIGTERM (SIGKILL after 5 s); resolves when the process has exited. Idempotent. */
  stop(): Promise<void>;
  /** SIGKILL at once. */
  kill(): Promise<void>;
  /** Starts a new process on the same port and directory (AOF reloads). */
  restart(): Promise<RedisServer>;
}

/** A port nobody listens on right now (bind 0 on loopback, read it, close). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * `count` free loopback ports, all different (and none in `taken`): the kernel may hand the
 * port one `freePort` just closed to the next, and two components on one port fail to start.
 */
export async function freePorts(count: number, taken: readonly number[] = []): Promise<number[]> {
  const ports = new Set<number>();
  for (let attempt = 0; ports.size < count; attempt += 1) {
    if (attempt >= count * 10) throw new Error(`no ${count} distinct free ports found`);
    const port = await freePort();
    if (!taken.includes(port)) ports.add(port);
  }
  return [...ports];
}

export function hasRedisServer(): boolean {
  return spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
}

async function waitForLine(child: ChildProcess, pattern: RegExp, timeoutMs: number): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => done(new Error(`redis-server did not start in ${timeoutMs} ms:\n${output}`)), timeoutMs);
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      if (pattern.test(output)) done();
    };
    const onExit = (code: number | null): void => done(new Error(`redis-server exited with ${code}:\n${output}`));
    const done = (err?: Error): void => {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.off('exit', onExit);
      if (err) reject(err);
      else resolve();
    };
    child.stdout?.on('data', onData);
    child.once('exit', onExit);
  });
}

/**
 * Starts a real `redis-server` on 127.0.0.1 with a password, never touching a Redis it did
 * not start. Throws a clear error when `redis-server` is not installed.
 */
export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  if (!hasRedisServer()) {
    throw new Error('redis-server is not installed: apt-get install -y redis-server (Debian/Ubuntu)');
  }
  if (options.port !== undefined) return startOn(options, options.port);
  // The free port is only free when `freePort` looked: another test file running in parallel
  // may bind it before redis-server does. A port taken meanwhile costs another port, not the test.
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await startOn(options, await freePort());
    } catch (caught) {
      if (!(caught instanceof PortTakenError) || attempt >= PORT_ATTEMPTS) throw caught;
    }
  }
}

/** Ports tried by `startRedisServer` when none is given. */
const PORT_ATTEMPTS = 5;

/** redis-server exited at start because its port was bound by someone else meanwhile. */
class PortTakenError extends Error {
  override readonly name = 'PortTakenError';
}

async function startOn(options: RedisServerOptions, port: number): Promise<RedisServer> {
  const password = options.password ?? `test-${randomBytes(8).toString('hex')}`;
  const ownsDir = options.dir === undefined;
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'evinfra-redis-'));
  const args = [
    '--bind', '127.0.0.1',
    '--port', String(port),
    '--requirepass', password,
    '--dir', dir,
    '--save', '',
    '--appendonly', options.appendOnly ? 'yes' : 'no',
    '--appendfsync', 'everysec',
    '--protected-mode', 'yes',
    '--loglevel', 'notice',
  ];
  const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    await waitForLine(child, /Ready to accept connections/, 10_000);
  } catch (caught) {
    if (ownsDir) rmSync(dir, { recursive: true, force: true });
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    if (caught instanceof Error && /Address already in use/.test(caught.message)) throw new PortTakenError(caught.message);
    throw caught;
  }
  // Drain output so the pipe never fills and blocks the server.
  child.stdout?.resume();
  child.stderr?.resume();
  let exited: Promise<void> | undefined;
  const exitPromise = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const signal = (sig: NodeJS.Signals): Promise<void> => {
    exited ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill(sig);
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exitPromise;
      clearTimeout(timer);
    })();
    return exited;
  };
  const server: RedisServer = {
    url: `redis://:${encodeURIComponent(password)}@127.0.0.1:${port}`,
    urlWithoutPassword: `redis://127.0.0.1:${port}`,
    host: '127.0.0.1',
    port,
    password,
    dir,
    process: child,
    async stop() {
      await signal('SIGTERM');
      if (ownsDir) rmSync(dir, { recursive: true, force: true });
    },
    kill: () => signal('SIGKILL'),
    async restart() {
      await signal('SIGTERM');
      return startRedisServer({ ...options, password, dir, port });
    },
  };
  return server;
}
