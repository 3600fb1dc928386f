/**
 * Start-up footprint probe (issue 12, docs/benchmarks/memory.md, "Module footprint"): starts each compiled service
 * (`node --conditions=evinfra-dist <workspace>/dist/main.js`, production's environment, the
 * stack bench's env) of one or more checkouts side by side, each checkout on its own three
 * redis-servers, and reads `/proc/<pid>/status` of every service: VmHWM 4 s after it answered
 * /health (the start-up peak) and VmRSS/VmHWM after FOOTPRINT_IDLE_SEC (30, the stack bench's
 * idle mark). FOOTPRINT_ROOTS: comma-separated checkout roots, each built (`npm run build`),
 * default this one; FOOTPRINT_ROUNDS (3) rounds, the order of the roots alternating. One JSON
 * line per service and round on stdout. Run: tsx bench/tools/footprint-probe.ts
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { freePort, startRedisServer, type RedisServer } from '@event-infra/testing';
import { productionEnv } from '../lib/child';
import { pollUntil } from '../lib/stats';

const HERE = fileURLToPath(new URL('../../', import.meta.url));
const roots = (process.env.FOOTPRINT_ROOTS ?? HERE).split(',').map((root) => root.replace(/\/?$/, '/'));
const rounds = Number(process.env.FOOTPRINT_ROUNDS ?? 3);
const idleSec = Number(process.env.FOOTPRINT_IDLE_SEC ?? 30);
const SERVICES = [
  { name: 'queue processor', workspace: 'queue-system', portVar: 'QUEUE_PROCESSOR_PORT' },
  { name: 'event processor', workspace: 'event-system', portVar: 'EVENT_PROCESSOR_PORT' },
  { name: 'DLQ processor', workspace: 'dlq-system', portVar: 'DLQ_PROCESSOR_PORT' },
] as const;

const statusMb = (pid: number, field: string): number =>
  Math.round(Number(new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? Number.NaN) / 102.4) / 10;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

interface Started { root: string; service: string; child: ChildProcess; hwmAt4s?: number }

async function startService(root: string, service: (typeof SERVICES)[number], redis: RedisServer[]): Promise<Started> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--conditions=evinfra-dist', `${service.workspace}/dist/main.js`], {
    cwd: root,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: {
      PATH: process.env.PATH ?? '', ...productionEnv(),
      REDIS_URL: redis[0]!.url, REDIS_STREAMS_URL: redis[1]!.url, REDIS_QUEUE_URL: redis[2]!.url,
      HTTP_HOST: '127.0.0.1', LOG_LEVEL: 'warn', RETRY_ATTEMPTS: '3', RETRY_DELAY: '60000', [service.portVar]: String(port),
    },
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-2_000)));
  await pollUntil(async () => {
    if (child.exitCode !== null) throw new Error(`${service.name} (${root}) exited: ${stderr}`);
    try {
      const response = await fetch(`http://127.0.0.1:${port}/health`);
      await response.arrayBuffer();
      return response.status === 200;
    } catch {
      return false;
    }
  }, 60_000, `${service.name} to be ready`, 50);
  return { root, service: service.name, child };
}

for (let round = 0; round < rounds; round += 1) {
  const order = round % 2 === 0 ? roots : [...roots].reverse();
  const redis = new Map<string, RedisServer[]>();
  const started: Started[] = [];
  try {
    for (const root of order) redis.set(root, [await startRedisServer(), await startRedisServer(), await startRedisServer()]);
    for (const service of SERVICES) {
      for (const root of order) {
        const one = await startService(root, service, redis.get(root)!);
        started.push(one);
        void sleep(4_000).then(() => (one.hwmAt4s = statusMb(one.child.pid!, 'VmHWM')));
      }
    }
    await sleep(idleSec * 1000);
    for (const one of started) {
      process.stdout.write(`${JSON.stringify({ round, root: one.root, service: one.service, hwmAt4s: one.hwmAt4s, idleRss: statusMb(one.child.pid!, 'VmRSS'), idleHwm: statusMb(one.child.pid!, 'VmHWM'), idleAnon: statusMb(one.child.pid!, 'RssAnon') })}\n`);
    }
  } finally {
    for (const one of started) one.child.kill('SIGTERM');
    await Promise.all(started.map((one) => (one.child.exitCode !== null ? undefined : new Promise((resolve) => one.child.once('exit', resolve)))));
    for (const servers of redis.values()) for (const server of servers) await server.stop();
  }
}
