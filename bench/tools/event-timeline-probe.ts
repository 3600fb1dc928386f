/**
 * Issue #15, "the timeline costs at most 10 % of the event drain": the event drain of the
 * timeline suite (`bench/fixtures/timeline-drain.ts`: the compiled event processor, noop
 * handler, one loop, batch 100, production's NODE_OPTIONS, BENCH_CHILD_NODE_FLAGS added:
 * `--cpu-prof --cpu-prof-dir=…` to profile) with the timeline off and on (PROBE_VARIANTS,
 * default `off,on`), PROBE_PAIRS (4) rounds of PROBE_EVENTS (100,000) events as the intake
 * writes them with tracing off (no caller context), the order reversed every other round,
 * each drain in a fresh child on a master and a streams Redis of their own (each drain reads
 * the same stream with a group of its own; the master is flushed before every drain). The
 * first 20 % are not timed. Per drain: the rate, Node / streams Redis / master CPU per event
 * (INFO cpu), scavenges, GC pauses, the child's pid (its profile's name), and the master's
 * time per event in INFO commandstats (`hset`: the batch records; `evalsha`: the flush script),
 * reset at the drain's start and divided by all events (the warm-up's included). Then per pair
 * on/off, on − off, and the suite's CPU ratio (Node + both Redis per event, on/off).
 * Run (heavy lock): npm run build && npm run build:bench && flock /work/wt/heavy.lock tsx bench/tools/event-timeline-probe.ts
 */
import { Redis as IORedis } from 'ioredis';
import { createRedis, type EventInput } from '@event-infra/shared';
import { silentLogger, startRedisServer } from '@event-infra/testing';
import type { DrainReport } from '../fixtures/timeline-drain';
import { spawnChild } from '../lib/child';
import { prefillEvents } from '../lib/event-drain';
import { intakeEvent } from '../lib/intake-trace';
import { median } from '../lib/stats';

const EVENTS = Number(process.env.PROBE_EVENTS ?? 100_000);
const PAIRS = Number(process.env.PROBE_PAIRS ?? 4);
const WARMUP = Math.round(EVENTS * 0.2);
const VARIANTS = (process.env.PROBE_VARIANTS ?? 'off,on').split(',');
const STREAM = 'bench-timeline-probe';
interface Report extends DrainReport {
  pid: number;
  /** The master's `hset` and `evalsha` time per event, µs (commandstats). */
  hsetUs: number;
  scriptUs: number;
}

/** `usec` of `cmdstat_<name>` in INFO commandstats, 0 when absent. */
function commandUsec(info: string, name: string): number {
  return Number(new RegExp(`^cmdstat_${name}:calls=\\d+,usec=(\\d+)`, 'm').exec(info)?.[1] ?? 0);
}

const eventOf = (): EventInput => intakeEvent();

async function drain(masterUrl: string, streamsUrl: string, variant: string, group: string, master: IORedis): Promise<Report> {
  const child = await spawnChild({
    name: `event drain (${variant})`,
    entry: 'bench/fixtures/timeline-drain.ts',
    requests: true,
    env: {
      BENCH_DRAIN: 'event',
      BENCH_MASTER_URL: masterUrl,
      BENCH_WORK_URL: streamsUrl,
      BENCH_COUNT: String(EVENTS),
      BENCH_WARMUP: String(WARMUP),
      BENCH_TIMELINE: String(variant !== 'off'),
      BENCH_OTLP_URL: '',
      BENCH_STREAM: STREAM,
      BENCH_GROUP: group,
    },
  });
  try {
    await master.config('RESETSTAT');
    const line = await child.request('drain');
    if (!line.startsWith('{')) throw new Error(line);
    const info = await master.info('commandstats');
    return { ...(JSON.parse(line) as DrainReport), pid: child.pid, hsetUs: commandUsec(info, 'hset') / EVENTS, scriptUs: commandUsec(info, 'evalsha') / EVENTS };
  } finally {
    await child.stop();
  }
}

const master = await startRedisServer();
const streams = await startRedisServer();
const masterAdmin = new IORedis(master.url, { maxRetriesPerRequest: null });
const filler = createRedis({ url: streams.url, role: 'bench', profile: 'consumer', logger: silentLogger() });
try {
  await prefillEvents(filler, STREAM, EVENTS, eventOf);
  const results: Record<string, Report[]> = Object.fromEntries(VARIANTS.map((variant) => [variant, []]));
  for (let pair = 0; pair < PAIRS; pair += 1) {
    const order = pair % 2 === 0 ? [...VARIANTS] : [...VARIANTS].reverse();
    for (const variant of order) {
      await masterAdmin.flushall();
      const report = await drain(master.url, streams.url, variant, `g-${pair}-${variant}`, masterAdmin);
      results[variant]!.push(report);
      process.stdout.write(
        `pair ${pair} ${variant.padEnd(4)} pid ${report.pid}: ${Math.round(report.rate)} events/s, Node ${report.nodeUs.toFixed(1)} µs/event, streams Redis ${report.workUs.toFixed(1)}, ` +
          `master ${report.masterUs.toFixed(2)} (hset ${report.hsetUs.toFixed(2)}, script ${report.scriptUs.toFixed(3)}), scavenges ${report.minorGcs}, mark-sweeps ${report.majorGcs}, GC ${report.gcUs.toFixed(1)} µs/event\n`,
      );
    }
  }
  const of = (variant: string, field: keyof Report) => results[variant]!.map((report) => report[field]);
  const cpu = (variant: string) => results[variant]!.map((report) => report.nodeUs + report.masterUs + report.workUs);
  for (const on of VARIANTS.filter((variant) => variant !== 'off')) {
    const per = (field: keyof Report, combine: (a: number, b: number) => number, digits: number) =>
      of(on, field).map((value, index) => combine(value, of('off', field)[index]!).toFixed(digits)).join('/');
    const cpuPairs = cpu(on).map((value, index) => value / cpu('off')[index]!);
    process.stdout.write(
      `${on}: rate on/off per pair ${per('rate', (a, b) => a / b, 2)}; CPU (Node + both Redis) on/off ${cpuPairs.map((ratio) => ratio.toFixed(2)).join('/')} (median ${median(cpuPairs).toFixed(2)}); ` +
        `Node µs/event on − off ${per('nodeUs', (a, b) => a - b, 1)} (medians ${median(of('off', 'nodeUs')).toFixed(1)} → ${median(of(on, 'nodeUs')).toFixed(1)}); ` +
        `master µs/event on − off ${per('masterUs', (a, b) => a - b, 2)}, hset ${of(on, 'hsetUs').map((us) => us.toFixed(2)).join('/')}; streams Redis on − off ${per('workUs', (a, b) => a - b, 1)}; ` +
        `scavenges on − off ${per('minorGcs', (a, b) => a - b, 0)}; GC µs/event on − off ${per('gcUs', (a, b) => a - b, 1)}\n`,
    );
  }
} finally {
  filler.disconnect();
  masterAdmin.disconnect();
  await Promise.allSettled([master.stop(), streams.stop()]);
}
