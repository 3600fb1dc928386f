/**
 * Issue #15, "tracing off costs under 2 %": what a `traceparent` costs the event drain with
 * tracing off, split into the stack's code and the wire (docs/benchmarks/timeline-cost.md, "Tracing."). Two
 * streams of PROBE_EVENTS (100,000) `workspace.created` events on a streams Redis of their own,
 * identical but for a `traceparent` on every event of one (55 bytes, one more field pair per
 * entry). PROBE_PAIRS (4) rounds, the order of `untraced` and `off` reversed every other round,
 * each drain in a fresh child:
 *   - `processor`: the timeline suite's drain (`bench/fixtures/timeline-drain.ts`: the compiled
 *     event processor, noop handler, batch 100, timeline and tracing off; production's
 *     NODE_OPTIONS, BENCH_CHILD_NODE_FLAGS added);
 *   - `bare`: `bench/tools/bare-buffer-reader.mjs`, XREADGROUP … COUNT 100 as Buffers and one
 *     XACK per batch with the same ioredis, nothing of the stack: what the field's bytes cost
 *     Redis and the library's reply parsing.
 * The first 20 % of each drain is not timed. Per drain: rate, Node CPU per event, scavenges,
 * the streams Redis's CPU per event; then the medians and the off − untraced differences.
 * PROBE_KINDS (`processor,bare`) picks the kinds. Its `off` (a traceparent on every event,
 * tracing off) is the timeline suite's `callertraced` since 2026-12-02: the stack no longer
 * mints a traceparent with tracing off, so only a caller's trace context puts one there.
 * Run (heavy lock): npm run build && npm run build:bench && flock /work/wt/heavy.lock tsx bench/tools/traceparent-probe.ts
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { createRedis, newTraceparent } from '@event-infra/shared';
import { silentLogger, startRedisServer } from '@event-infra/testing';
import { productionEnv, spawnChild } from '../lib/child';
import { prefillEvents } from '../lib/event-drain';
import { median } from '../lib/stats';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const EVENTS = Number(process.env.PROBE_EVENTS ?? 100_000);
const PAIRS = Number(process.env.PROBE_PAIRS ?? 4);
const WARMUP = Math.round(EVENTS * 0.2);
/** PROBE_KINDS: `processor,bare` (default), or one of them. */
const KINDS = (process.env.PROBE_KINDS ?? 'processor,bare').split(',') as Kind[];
type Variant = 'untraced' | 'off';
type Kind = 'processor' | 'bare';
interface Report {
  rate: number;
  nodeUs: number;
  workUs: number;
  minorGcs: number;
}

/** The bare reader in a fresh child: ready, `drain`, one JSON line. */
async function bareDrain(env: Record<string, string>): Promise<Report> {
  const child = spawn(process.execPath, [...(process.env.BENCH_CHILD_NODE_FLAGS ?? '').split(' ').filter(Boolean), 'bench/tools/bare-buffer-reader.mjs'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', ...productionEnv(), ...env },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  let out = '';
  const lines: string[] = [];
  let wake: (() => void) | undefined;
  child.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString();
    let end: number;
    while ((end = out.indexOf('\n')) >= 0) {
      lines.push(out.slice(0, end));
      out = out.slice(end + 1);
      wake?.();
    }
  });
  const next = async (): Promise<string> => {
    while (lines.length === 0) await new Promise<void>((resolve) => (wake = resolve));
    return lines.shift()!;
  };
  if ((await next()) !== 'ready') throw new Error('bare reader did not start');
  child.stdin.write('drain\n');
  const report = JSON.parse(await next()) as Report;
  child.stdin.end();
  await new Promise((resolve) => child.once('exit', resolve));
  return report;
}

async function processorDrain(masterUrl: string, workUrl: string, env: Record<string, string>): Promise<Report> {
  const child = await spawnChild({
    name: 'event drain',
    entry: 'bench/fixtures/timeline-drain.ts',
    requests: true,
    env: { BENCH_DRAIN: 'event', BENCH_MASTER_URL: masterUrl, BENCH_WORK_URL: workUrl, BENCH_COUNT: String(EVENTS), BENCH_WARMUP: String(WARMUP), BENCH_TIMELINE: 'false', BENCH_OTLP_URL: '', ...env },
  });
  try {
    const line = await child.request('drain');
    if (!line.startsWith('{')) throw new Error(line);
    return JSON.parse(line) as Report;
  } finally {
    await child.stop();
  }
}

const master = await startRedisServer();
const streams = await startRedisServer();
const client = createRedis({ url: streams.url, role: 'bench', profile: 'consumer', logger: silentLogger() });
try {
  const name: Record<Variant, string> = { untraced: `probe-untraced-${randomUUID()}`, off: `probe-traced-${randomUUID()}` };
  for (const variant of ['untraced', 'off'] as const) {
    await prefillEvents(client, name[variant], EVENTS, () => ({ type: 'workspace.created', ...(variant === 'off' ? { traceparent: newTraceparent() } : {}), data: { workspaceId: 'w-1', name: 'bench', ownerId: 'u-1' } }));
  }
  const results = new Map<string, Report[]>();
  for (let pair = 0; pair < PAIRS; pair += 1) {
    const order: Variant[] = pair % 2 === 0 ? ['untraced', 'off'] : ['off', 'untraced'];
    for (const kind of KINDS) {
      for (const variant of order) {
        const env = { BENCH_WORK_URL: streams.url, BENCH_STREAM: name[variant], BENCH_GROUP: `${kind}-${pair}-${variant}`, BENCH_COUNT: String(EVENTS), BENCH_WARMUP: String(WARMUP) };
        const report = kind === 'bare' ? await bareDrain(env) : await processorDrain(master.url, streams.url, env);
        results.set(`${kind} ${variant}`, [...(results.get(`${kind} ${variant}`) ?? []), report]);
        process.stdout.write(`pair ${pair} ${kind.padEnd(9)} ${variant.padEnd(8)} ${Math.round(report.rate)} events/s, Node ${report.nodeUs.toFixed(2)} µs/event, scavenges ${report.minorGcs}, streams Redis ${report.workUs.toFixed(2)} µs/event\n`);
      }
    }
  }
  for (const kind of KINDS) {
    const of = (variant: Variant, field: keyof Report) => (results.get(`${kind} ${variant}`) ?? []).map((report) => report[field]);
    const pairs = of('off', 'rate').map((rate, index) => (rate / of('untraced', 'rate')[index]!).toFixed(2));
    const diffs = of('off', 'nodeUs').map((us, index) => (us - of('untraced', 'nodeUs')[index]!).toFixed(2));
    process.stdout.write(
      `${kind}: rate off/untraced per pair ${pairs.join('/')}; Node µs/event untraced ${median(of('untraced', 'nodeUs')).toFixed(2)}, off ${median(of('off', 'nodeUs')).toFixed(2)} ` +
        `(per pair off − untraced ${diffs.join('/')}); scavenges ${median(of('untraced', 'minorGcs'))} → ${median(of('off', 'minorGcs'))}; ` +
        `streams Redis µs/event ${median(of('untraced', 'workUs')).toFixed(2)} → ${median(of('off', 'workUs')).toFixed(2)}\n`,
    );
  }
} finally {
  client.disconnect();
  await Promise.allSettled([master.stop(), streams.stop()]);
}
