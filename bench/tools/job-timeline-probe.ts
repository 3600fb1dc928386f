/**
 * Issue #15, "the timeline costs at most 10 % of the job drain": the job drain of the timeline
 * suite (`bench/fixtures/timeline-drain.ts`, the compiled worker path, noop handler, concurrency
 * 100, production's NODE_OPTIONS, BENCH_CHILD_NODE_FLAGS added: `--cpu-prof --cpu-prof-dir=…`
 * to profile) with the timeline off and on (PROBE_VARIANTS, default `off,on`; `on<n>`: on with
 * the recorder's `stepsPerSend` n), PROBE_PAIRS (4) rounds of PROBE_JOBS (40,000) jobs with a
 * correlation (the suite's `off` entries; PROBE_TRACEPARENT=true: a caller's traceparent too),
 * the order reversed every other round, each drain in a fresh child on a master and
 * a queue Redis of their own (flushed before every drain). The first 20 % are not timed. Per
 * drain: the rate, Node / queue Redis / master CPU per job (INFO cpu), scavenges, GC pauses,
 * the child's pid (its profile's name), the master's script time per job (INFO
 * commandstats `evalsha`: the script's own time, its inner commands included), the commands per
 * job on both Redis (commandstats), the child's CPU migrations, context switches and minor page
 * faults per 1,000 jobs (/proc), and with PROBE_TIMING=true the recorder's calls timed in the
 * child (`DrainTiming`). Then per pair on/off and on − off.
 * Run (heavy lock): npm run build && npm run build:bench && flock /work/wt/heavy.lock tsx bench/tools/job-timeline-probe.ts
 */
import { readFileSync } from 'node:fs';
import { Queue } from 'bullmq';
import { Redis as IORedis } from 'ioredis';
import { JOB_TRACE_KEY, bullPrefix, newCorrelationId, newTraceparent } from '@event-infra/shared';
import { startRedisServer } from '@event-infra/testing';
import type { DrainReport, DrainTiming } from '../fixtures/timeline-drain';
import { spawnChild } from '../lib/child';
import { median } from '../lib/stats';
import { BENCH_QUEUE as QUEUE, addNoopJobs } from '../lib/worker-drain';

const JOBS = Number(process.env.PROBE_JOBS ?? 40_000);
const PAIRS = Number(process.env.PROBE_PAIRS ?? 4);
const WARMUP = Math.round(JOBS * 0.2);
const TRACEPARENT = process.env.PROBE_TRACEPARENT === 'true';
/** PROBE_TIMING=true: the recorder's calls timed in the child (`timelineRecordUs`, `timelineWriteUs`). */
const TIMING = process.env.PROBE_TIMING === 'true';
/** `off`, `on` (the recorder's defaults), or `on<n>`: on with `stepsPerSend` n. PROBE_VARIANTS picks them (default `off,on`). */
type Variant = string;
const VARIANTS = (process.env.PROBE_VARIANTS ?? 'off,on').split(',');
interface Report extends DrainReport, Partial<DrainTiming> {
  pid: number;
  /** Commands per job on the queue Redis and on the master (INFO commandstats, reset at the drain's start: calls over all jobs), by command. */
  queueCalls: Record<string, number>;
  masterCalls: Record<string, number>;
  /** The child's scheduling over the drain request (warm-up included), per 1,000 jobs: its main thread's CPU migrations and context switches (/proc/<pid>/sched), the process's minor page faults (/proc/<pid>/stat). */
  sched: { migrations: number; voluntary: number; involuntary: number; minorFaults: number };
  /** The master's `evalsha` time per timed job, µs (commandstats, reset at the drain's start: the warm-up's included, divided by all jobs). */
  scriptUs: number;
}

/** `usec` of `cmdstat_evalsha` in INFO commandstats, 0 when absent. */
async function evalshaUsec(redis: IORedis): Promise<number> {
  const info = await redis.info('commandstats');
  return Number(/^cmdstat_evalsha:calls=\d+,usec=(\d+)/m.exec(info)?.[1] ?? 0);
}

/** Calls per job of each command in INFO commandstats (`cmdstat_<name>:calls=<n>,…`). */
async function callsPerJob(redis: IORedis): Promise<Record<string, number>> {
  const info = await redis.info('commandstats');
  const calls: Record<string, number> = {};
  for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) calls[match[1]!] = Number(match[2]) / JOBS;
  return calls;
}

/** /proc counters of a process: its main thread's migrations and switches, its minor page faults. */
function schedCounters(pid: number): Report['sched'] {
  const sched = readFileSync(`/proc/${pid}/sched`, 'utf8');
  const field = (name: string) => Number(new RegExp(`^${name.replace('.', '\\.')}\\s*:\\s*(\\d+)`, 'm').exec(sched)?.[1] ?? Number.NaN);
  // /proc/<pid>/stat: the fields after the command's closing parenthesis; minflt is the 10th field of the line.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const after = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { migrations: field('se.nr_migrations'), voluntary: field('nr_voluntary_switches'), involuntary: field('nr_involuntary_switches'), minorFaults: Number(after[7]) };
}

async function drain(masterUrl: string, queueUrl: string, variant: Variant, master: IORedis, queueAdmin: IORedis): Promise<Report> {
  const child = await spawnChild({
    name: `job drain (${variant})`,
    entry: 'bench/fixtures/timeline-drain.ts',
    requests: true,
    env: {
      BENCH_DRAIN: 'job',
      BENCH_MASTER_URL: masterUrl,
      BENCH_WORK_URL: queueUrl,
      BENCH_COUNT: String(JOBS),
      BENCH_WARMUP: String(WARMUP),
      BENCH_TIMELINE: String(variant !== 'off'),
      BENCH_TIMELINE_TIMING: TIMING ? 'true' : 'false',
      ...(variant.startsWith('on') && variant.length > 2 ? { BENCH_TIMELINE_STEPS_PER_SEND: variant.slice(2) } : {}),
      BENCH_OTLP_URL: '',
      BENCH_QUEUE: QUEUE,
      BENCH_CONCURRENCY: '100',
    },
  });
  try {
    await master.config('RESETSTAT');
    await queueAdmin.config('RESETSTAT');
    const before = schedCounters(child.pid);
    const line = await child.request('drain');
    const after = schedCounters(child.pid);
    if (!line.startsWith('{')) throw new Error(line);
    const sched = Object.fromEntries(Object.entries(after).map(([name, value]) => [name, ((value - before[name as keyof typeof before]) * 1_000) / JOBS])) as Report['sched'];
    const scriptUs = (await evalshaUsec(master)) / JOBS;
    const [queueCalls, masterCalls] = await Promise.all([callsPerJob(queueAdmin), callsPerJob(master)]);
    return { ...(JSON.parse(line) as DrainReport & Partial<DrainTiming>), pid: child.pid, scriptUs, queueCalls, masterCalls, sched };
  } finally {
    await child.stop();
  }
}

const master = await startRedisServer();
const queueRedis = await startRedisServer();
const admin = new IORedis(queueRedis.url, { maxRetriesPerRequest: null });
const masterAdmin = new IORedis(master.url, { maxRetriesPerRequest: null });
const queue = new Queue(QUEUE, { connection: admin, prefix: bullPrefix(QUEUE, false) });
try {
  const results: Record<Variant, Report[]> = Object.fromEntries(VARIANTS.map((variant) => [variant, []]));
  for (let pair = 0; pair < PAIRS; pair += 1) {
    const order: Variant[] = pair % 2 === 0 ? [...VARIANTS] : [...VARIANTS].reverse();
    for (const variant of order) {
      await admin.flushall();
      await masterAdmin.flushall();
      // The suite's `off` / `timeline` jobs carry a correlation only (tracing off, no caller context); PROBE_TRACEPARENT=true adds a caller's traceparent (this probe's jobs before 2026-12-02).
      await addNoopJobs(queue, JOBS, (n) => ({ n, [JOB_TRACE_KEY]: TRACEPARENT ? { correlationId: newCorrelationId(), traceparent: newTraceparent() } : { correlationId: newCorrelationId() } }));
      const report = await drain(master.url, queueRedis.url, variant, masterAdmin, admin);
      results[variant]!.push(report);
      process.stdout.write(
        `pair ${pair} ${variant.padEnd(6)} pid ${report.pid}: ${Math.round(report.rate)} jobs/s, Node ${report.nodeUs.toFixed(1)} µs/job, queue Redis ${report.workUs.toFixed(1)}, ` +
          `master ${report.masterUs.toFixed(1)} (script ${report.scriptUs.toFixed(2)}), scavenges ${report.minorGcs}, mark-sweeps ${report.majorGcs}, GC ${report.gcUs.toFixed(1)} µs/job\n`,
      );
      if (report.timelineRecordUs !== undefined) process.stdout.write(`  in the child, per job: recorder calls ${report.timelineRecordUs.toFixed(2)} µs, flush writes ${report.timelineWriteUs?.toFixed(2)} µs\n`);
      process.stdout.write(`  per 1,000 jobs: CPU migrations ${report.sched.migrations.toFixed(1)}, voluntary switches ${report.sched.voluntary.toFixed(0)}, involuntary ${report.sched.involuntary.toFixed(1)}, minor faults ${report.sched.minorFaults.toFixed(0)}\n`);
      const calls = (of: Record<string, number>) => Object.entries(of).map(([name, perJob]) => `${name} ${perJob.toFixed(3)}`).join(', ');
      process.stdout.write(`  commands per job: queue Redis ${calls(report.queueCalls)}; master ${calls(report.masterCalls)}\n`);
    }
  }
  type NumericField = { [K in keyof Report]-?: Report[K] extends number ? K : never }[keyof Report];
  const of = (variant: Variant, field: NumericField) => results[variant]!.map((report) => report[field]);
  for (const on of VARIANTS.filter((variant) => variant !== 'off')) {
    const per = (field: NumericField, combine: (a: number, b: number) => number, digits: number) =>
      of(on, field).map((value, index) => combine(value, of('off', field)[index]!).toFixed(digits)).join('/');
    process.stdout.write(
      `${on}: rate on/off per pair ${per('rate', (a, b) => a / b, 2)}; medians ${Math.round(median(of(on, 'rate')))}/${Math.round(median(of('off', 'rate')))} jobs/s; ` +
        `Node µs/job on − off ${per('nodeUs', (a, b) => a - b, 1)} (medians ${median(of('off', 'nodeUs')).toFixed(1)} → ${median(of(on, 'nodeUs')).toFixed(1)}); ` +
        `master µs/job ${of(on, 'masterUs').map((us) => us.toFixed(1)).join('/')}, script ${of(on, 'scriptUs').map((us) => us.toFixed(2)).join('/')}; ` +
        `queue Redis on − off ${per('workUs', (a, b) => a - b, 1)}; scavenges on − off ${per('minorGcs', (a, b) => a - b, 0)}; GC µs/job on − off ${per('gcUs', (a, b) => a - b, 1)}\n`,
    );
  }
} finally {
  await queue.close();
  admin.disconnect();
  masterAdmin.disconnect();
  await Promise.allSettled([master.stop(), queueRedis.stop()]);
}
