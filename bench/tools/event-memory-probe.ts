/**
 * Event processor memory probe (issue 12, docs/benchmarks/memory.md, "Event processor peak"): the stack bench's
 * event work on the event processor and the bare reader only, each child run as the stack
 * suite runs it (compiled, production's NODE_OPTIONS plus BENCH_CHILD_NODE_FLAGS) and given
 * `--import bench/tools/heap-sampler.mjs`, which writes its VmRSS/VmHWM and V8 heap spaces
 * every 25 ms to PROBE_OUT/<name>.jsonl (stdout, e.g. `--trace-gc`, to <name>.out). Phases
 * as in the stack suite: idle PROBE_IDLE_SEC (30); 4 drains of PROBE_EVENTS (50,000) events
 * per side, alternating; the latency load (events one XADD each at 500/s: 20 + 200 + 2 x 2,000),
 * to the event processor only (the stack suite gives its bare side to a second bare reader). Phase boundaries go to PROBE_OUT/phases.jsonl; a summary per child and phase
 * (VmHWM at its start and end, the highest VmRSS with RssAnon and the heap spaces at that
 * moment, CPU ms) is printed as JSON lines; `/proc/<pid>/smaps` grouped by mapping after the
 * idle phase and at the end go to <name>.smaps-<idle|end>.json. PROBE_SNAPSHOT_AT_MS (0: off) sends
 * SIGUSR2 to both children after the idle phase and that long into each drain (with
 * `BENCH_CHILD_NODE_FLAGS=--heapsnapshot-signal=SIGUSR2` a heap snapshot each, in the working
 * directory; with the promotion profiler, a profile each). With `--trace-gc --trace-gc-verbose`,
 * `node bench/tools/gc-trace-summary.mjs PROBE_OUT/<name>.out` gives each full collection's
 * committed old generation against the memory reducer's re-arm threshold.
 * Run (heavy lock): npm run build && npm run build:bench && flock /work/wt/heavy.lock tsx bench/tools/event-memory-probe.ts
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdirSync, openSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { STREAM_DEFAULTS, createEventPublisher, createLogger, type EventPublisher } from '@event-infra/shared';
import { SAMPLE_EVENT_DATA, freePort, startRedisServer } from '@event-infra/testing';
import { compiledEntry, productionEnv } from '../lib/child';
import { pollUntil } from '../lib/stats';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const OUT = process.env.PROBE_OUT ?? '/tmp/event-memory-probe';
const SAMPLER = join(ROOT, 'bench/tools/heap-sampler.mjs');
const env = (name: string, fallback: number): number => Number(process.env[name] ?? fallback);
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const phase = (name: string): void => appendFileSync(join(OUT, 'phases.jsonl'), `${JSON.stringify({ t: Date.now(), phase: name })}\n`);

interface Probed { name: string; child: ChildProcess; samples: string }

async function start(name: string, entry: string, childEnv: Record<string, string>, healthUrl?: string): Promise<Probed> {
  const samples = join(OUT, `${name}.jsonl`);
  const stdout = openSync(join(OUT, `${name}.out`), 'w');
  const flags = (process.env.BENCH_CHILD_NODE_FLAGS ?? '').split(' ').filter(Boolean);
  const production = productionEnv();
  const child = spawn(process.execPath, [...flags, '--conditions=evinfra-dist', compiledEntry(entry)], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', ...production, NODE_OPTIONS: `${production.NODE_OPTIONS} --import=${SAMPLER}`, HEAP_SAMPLE_FILE: samples, ...childEnv },
    stdio: ['ignore', stdout, 'inherit'],
  });
  await pollUntil(async () => {
    if (child.exitCode !== null) throw new Error(`${name} exited`);
    if (!healthUrl) return readFileSync(join(OUT, `${name}.out`), 'utf8').includes('ready');
    try {
      const response = await fetch(healthUrl);
      await response.arrayBuffer();
      return response.status === 200;
    } catch {
      return false;
    }
  }, 60_000, `${name} to be ready`, 50);
  return { name, child, samples };
}

async function groupDone(redis: Redis, stream: string, group: string): Promise<boolean> {
  const info = (await redis.xinfo('STREAM', stream)) as unknown[];
  const groups = (await redis.xinfo('GROUPS', stream)) as unknown[][];
  const mine = groups.find((fields) => fields[fields.indexOf('name') + 1] === group);
  return !!mine && mine[mine.indexOf('last-delivered-id') + 1] === info[info.indexOf('last-generated-id') + 1] && mine[mine.indexOf('pending') + 1] === 0;
}

const event = (seq: number) => ({ type: 'user.updated', data: { ...SAMPLE_EVENT_DATA['user.updated'], seq } });

async function drain(child: Probed, redis: Redis, publisher: EventPublisher, stream: string, group: string, count: number): Promise<void> {
  child.child.kill('SIGSTOP');
  for (let sent = 0; sent < count; sent += 1000) await publisher.publishBatch(Array.from({ length: Math.min(1000, count - sent) }, (_, n) => event(sent + n)));
  child.child.kill('SIGCONT');
  // PROBE_SNAPSHOT_AT_MS: a heap snapshot this long into each drain (the child needs `--heapsnapshot-signal=SIGUSR2`).
  const snapshotAt = env('PROBE_SNAPSHOT_AT_MS', 0);
  if (snapshotAt > 0) setTimeout(() => child.child.kill('SIGUSR2'), snapshotAt);
  await pollUntil(() => groupDone(redis, stream, group), 300_000, `${child.name} to drain`, 20);
  await redis.xtrim(stream, 'MAXLEN', 0);
}

async function steady(publisher: EventPublisher, redis: Redis, stream: string, group: string, count: number, perSecond: number): Promise<void> {
  const started = performance.now();
  const pending: Promise<unknown>[] = [];
  for (let index = 0; index < count; index += 1) {
    const wait = started + (index * 1000) / perSecond - performance.now();
    if (wait > 1) await sleep(Math.floor(wait));
    pending.push(publisher.publish(event(index)));
  }
  await Promise.all(pending);
  await pollUntil(() => groupDone(redis, stream, group), 60_000, 'steady load handled', 20);
}

/**
 * `/proc/<pid>/smaps` of a child grouped by mapping (file path, [heap], [stack], or anonymous
 * by size class), Rss and Anonymous in MB, largest first, written to <name>.smaps-<tag>.json.
 */
function smaps(one: Probed, tag: string): void {
  const groups = new Map<string, { rss: number; anon: number; count: number }>();
  let key = '';
  let size = 0;
  for (const line of readFileSync(`/proc/${one.child.pid}/smaps`, 'utf8').split('\n')) {
    const head = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head) {
      const [from, to] = line.split(' ')[0]!.split('-').map((hex) => Number.parseInt(hex, 16));
      size = (to! - from!) / 1048576;
      key = head[1] || `anon ${size >= 64 ? '>=64MB' : size >= 1 ? '1-64MB' : '<1MB'}`;
      continue;
    }
    const field = /^(Rss|Anonymous):\s+(\d+) kB/.exec(line);
    if (!field) continue;
    const group = groups.get(key) ?? { rss: 0, anon: 0, count: 0 };
    if (field[1] === 'Rss') {
      group.rss += Number(field[2]) / 1024;
      group.count += 1;
    } else group.anon += Number(field[2]) / 1024;
    groups.set(key, group);
  }
  const rows = [...groups].map(([name, g]) => ({ name, rss: Math.round(g.rss * 100) / 100, anon: Math.round(g.anon * 100) / 100, maps: g.count })).filter((row) => row.rss > 0.05).sort((a, b) => b.rss - a.rss);
  appendFileSync(join(OUT, `${one.name}.smaps-${tag}.json`), JSON.stringify(rows, null, 1));
}

/** Per child and phase: highest VmRSS/VmHWM, and the sample where VmHWM last rose. */
function summary(probed: Probed[]): void {
  const phases = readFileSync(join(OUT, 'phases.jsonl'), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { t: number; phase: string });
  for (const one of probed) {
    const samples = readFileSync(one.samples, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { t: number; rss: number; hwm: number; anon: number; cpuMs: number; spaces: Record<string, [number, number]> });
    for (let index = 0; index < phases.length; index += 1) {
      const from = phases[index]!.t;
      const to = phases[index + 1]?.t ?? Number.POSITIVE_INFINITY;
      const within = samples.filter((s) => s.t >= from && s.t < to);
      if (within.length === 0) continue;
      const first = within[0]!;
      const last = within.at(-1)!;
      const top = within.reduce((best, s) => (s.rss > best.rss ? s : best));
      process.stdout.write(`${JSON.stringify({ child: one.name, phase: phases[index]!.phase, hwmFrom: first.hwm, hwmTo: last.hwm, maxRss: top.rss, anonAtMax: top.anon, cpuMs: last.cpuMs - first.cpuMs, spacesAtMax: top.spaces })}\n`);
    }
  }
}

rmSync(OUT, { recursive: true, force: true });
mkdirSync(OUT, { recursive: true });
const logger = createLogger({ service: 'probe', level: 'silent' });
const [master, streams, queue] = [await startRedisServer(), await startRedisServer(), await startRedisServer()];
const redis = new Redis(streams.url, { maxRetriesPerRequest: null });
const started: Probed[] = [];
try {
  phase('start');
  const port = await freePort();
  const common = { REDIS_URL: master.url, REDIS_STREAMS_URL: streams.url, REDIS_QUEUE_URL: queue.url, HTTP_HOST: '127.0.0.1', LOG_LEVEL: 'warn', RETRY_ATTEMPTS: '3', RETRY_DELAY: '60000' };
  const stream = 'bench-stack-events';
  // PROBE_EP_ENV (`NAME=value,…`): extra variables for the event processor (e.g. fan-out off, to compare).
  const extra = Object.fromEntries((process.env.PROBE_EP_ENV ?? '').split(',').filter(Boolean).map((pair) => pair.split('=') as [string, string]));
  started.push(await start('event-processor', 'event-system/src/main.ts', { ...common, EVENT_PROCESSOR_PORT: String(port), STREAM_NAME: stream, EVENT_CONSUMERS: '1', EVENT_SCALE_INTERVAL_MS: '0', ...extra }, `http://127.0.0.1:${port}/health`));
  started.push(await start('bare-reader', 'bench/fixtures/bare-reader.ts', { BENCH_REDIS_URL: streams.url, BENCH_STREAM: 'bench-stack-bare', BENCH_GROUP: 'bare' }));
  phase('idle');
  await sleep(env('PROBE_IDLE_SEC', 30) * 1000);
  const [ep, br] = started as [Probed, Probed];
  for (const one of started) smaps(one, 'idle');
  if (env('PROBE_SNAPSHOT_AT_MS', 0) > 0) {
    for (const one of started) one.child.kill('SIGUSR2');
    await sleep(5000);
  }
  const ours = createEventPublisher({ stream, source: 'probe' }, { redis, logger });
  const bare = createEventPublisher({ stream: 'bench-stack-bare', source: 'probe' }, { redis, logger });
  const count = env('PROBE_EVENTS', 50_000);
  for (let round = 0; round < 4; round += 1) {
    for (const side of round % 2 === 0 ? ['bare', 'ours'] : ['ours', 'bare']) {
      phase(`drain ${round} ${side}`);
      if (side === 'ours') await drain(ep, redis, ours, stream, STREAM_DEFAULTS.group, count);
      else await drain(br, redis, bare, 'bench-stack-bare', 'bare', count);
    }
  }
  phase('latency load');
  for (const n of [20, 200, 2000, 2000]) await steady(ours, redis, stream, STREAM_DEFAULTS.group, n, 500);
  phase('end');
  await sleep(200);
  for (const one of started) smaps(one, 'end');
  summary(started);
} finally {
  for (const one of started) one.child.kill('SIGTERM');
  await Promise.all(started.map((one) => (one.child.exitCode !== null ? undefined : new Promise((resolve) => one.child.once('exit', resolve)))));
  redis.disconnect();
  await Promise.allSettled([master.stop(), streams.stop(), queue.stop()]);
}
