/**
 * Memory/CPU probe for issue #12 (docs/benchmarks/memory.md, "Memory work"): starts the stack benchmark's children
 * (services and bare children, compiled, with BENCH_CHILD_NODE_OPTIONS / BENCH_CHILD_NODE_FLAGS
 * as the stack suite gives them), waits PROBE_IDLE_SEC (10), then per phase reads the child's
 * CPU time (utime + stime from /proc/<pid>/stat): intake (PROBE_BULKS x 1,000-job bulk
 * requests, 30, then the same bodies through the bare worker's stdin intake; each one's
 * RssAnon/RssFile at its highest VmRSS), job drain
 * (PROBE_JOBS, 20,000, ours and bare) and event drain (PROBE_EVENTS, 50,000, ours and bare);
 * at the end each child's peak RSS (VmHWM). One line of JSON on stdout; not a bench suite (no
 * table, no targets): the flag comparisons in the README were made with it.
 * Run (under the heavy lock): npm run build && npm run build:bench && tsx bench/tools/memory-probe.ts
 */
import { readFileSync } from 'node:fs';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { bullPrefix, STREAM_DEFAULTS, createEventPublisher, createLogger } from '@event-infra/shared';
import { SAMPLE_EVENT_DATA, startRedisServer } from '@event-infra/testing';
import type { BenchChild } from '../lib/child';
import { BARE_QUEUE, BARE_STREAM, EVENT_STREAM, startStack } from '../lib/stack-children';
import { pollUntil } from '../lib/stats';

const env = (name: string, fallback: number): number => Number(process.env[name] ?? fallback);
const cpuMs = (child: BenchChild): number => {
  const fields = readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
};

/** RssAnon / RssFile of a child (MB) at the moment its VmRSS was highest while `work` ran. */
async function sampled(child: BenchChild, work: () => Promise<void>): Promise<Record<string, number>> {
  let best = { rss: 0, anon: 0, file: 0 };
  const read = (): void => {
    const text = readFileSync(`/proc/${child.pid}/status`, 'utf8');
    const field = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(text)?.[1] ?? 0) / 1024;
    const rss = field('VmRSS');
    if (rss > best.rss) best = { rss, anon: field('RssAnon'), file: field('RssFile') };
  };
  const timer = setInterval(read, 20);
  try {
    await work();
  } finally {
    clearInterval(timer);
  }
  return { rss: Math.round(best.rss), anon: Math.round(best.anon), file: Math.round(best.file) };
}

const logger = createLogger({ service: 'probe', level: 'silent' });
const [master, streams, queueServer] = [await startRedisServer(), await startRedisServer(), await startRedisServer()];
const stack = await startStack(master, streams, queueServer);
const out: Record<string, number> = {};
const redisQ = new Redis(queueServer.url, { maxRetriesPerRequest: null });
const redisS = new Redis(streams.url, { maxRetriesPerRequest: null });
try {
  await new Promise((resolve) => setTimeout(resolve, env('PROBE_IDLE_SEC', 10) * 1000));
  for (const [key, child] of [['qp', stack.queueProcessor], ['ep', stack.eventProcessor], ['dlq', stack.dlqProcessor], ['bw', stack.bareWorker], ['br', stack.bareReader]] as const) {
    out[`${key}Idle`] = Math.round(child.rssMb());
    // VmHWM before any load: the start-up peak (module loading), which VmRSS may have left.
    out[`${key}IdleHwm`] = Math.round(child.peakRssMb());
  }
  const measure = async (key: string, child: BenchChild, work: () => Promise<void>): Promise<void> => {
    const before = cpuMs(child);
    await work();
    out[key] = (out[key] ?? 0) + cpuMs(child) - before;
  };
  const body = JSON.stringify({ jobs: Array.from({ length: 1000 }, (_, n) => ({ name: 'bench.noop', data: { n } })) });
  const idleStatus = await sampled(stack.queueProcessor, () => new Promise((resolve) => setTimeout(resolve, 100)));
  for (const [key, value] of Object.entries(idleStatus)) out[`qpIdle_${key}`] = value;
  const intake = async (): Promise<void> => {
    for (let index = 0; index < env('PROBE_BULKS', 30); index += 1) {
      const response = await fetch(`${stack.queueUrl}/jobs/long-running-jobs/bulk`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      if (response.status !== 201) throw new Error(`bulk ${response.status}`);
      await response.arrayBuffer();
    }
  };
  let intakeStatus: Record<string, number> = {};
  await measure('qpIntakeCpuMs', stack.queueProcessor, async () => {
    intakeStatus = await sampled(stack.queueProcessor, intake);
  });
  for (const [key, value] of Object.entries(intakeStatus)) out[`qpIntake_${key}`] = value;
  // The same bulks through the bare worker (Queue.addBulk in the child, the stack suite's intake baseline).
  const bareIntake = async (): Promise<void> => {
    for (let index = 0; index < env('PROBE_BULKS', 30); index += 1) {
      const reply = await stack.bareWorker.request(body);
      if (reply !== 'added 1000') throw new Error(`bare intake ${reply}`);
    }
  };
  await measure('bwIntakeCpuMs', stack.bareWorker, async () => {
    intakeStatus = await sampled(stack.bareWorker, bareIntake);
  });
  for (const [key, value] of Object.entries(intakeStatus)) out[`bwIntake_${key}`] = value;
  out.bwPeakAfterIntake = Math.round(stack.bareWorker.peakRssMb());
  const drain = async (child: BenchChild, name: string): Promise<void> => {
    const queue = new Queue(name, { connection: redisQ, prefix: bullPrefix(name, false) });
    child.pause();
    for (let added = 0; added < env('PROBE_JOBS', 20_000); added += 1000) await queue.addBulk(Array.from({ length: 1000 }, (_, n) => ({ name: 'bench.noop', data: { n } })));
    child.resume();
    await pollUntil(async () => Object.values(await queue.getJobCounts('wait', 'active')).every((count) => count === 0), 300_000, 'drain', 20);
    await queue.close();
  };
  out.qpPeakAfterIntake = Math.round(stack.queueProcessor.peakRssMb());
  await measure('qpDrainCpuMs', stack.queueProcessor, () => drain(stack.queueProcessor, 'async-processing'));
  await measure('bwDrainCpuMs', stack.bareWorker, () => drain(stack.bareWorker, BARE_QUEUE));
  const events = async (child: BenchChild, stream: string, group: string): Promise<void> => {
    const publisher = createEventPublisher({ stream, source: 'probe' }, { redis: redisS, logger });
    child.pause();
    for (let sent = 0; sent < env('PROBE_EVENTS', 50_000); sent += 1000) await publisher.publishBatch(Array.from({ length: 1000 }, (_, n) => ({ type: 'user.updated', data: { ...SAMPLE_EVENT_DATA['user.updated'], seq: sent + n } })));
    child.resume();
    await pollUntil(async () => {
      const groups = (await redisS.xinfo('GROUPS', stream)) as unknown[][];
      const mine = groups.find((f) => f[f.indexOf('name') + 1] === group);
      const info = (await redisS.xinfo('STREAM', stream)) as unknown[];
      return !!mine && mine[mine.indexOf('last-delivered-id') + 1] === info[info.indexOf('last-generated-id') + 1] && mine[mine.indexOf('pending') + 1] === 0;
    }, 300_000, 'events', 20);
    await redisS.xtrim(stream, 'MAXLEN', 0);
  };
  await measure('epDrainCpuMs', stack.eventProcessor, () => events(stack.eventProcessor, EVENT_STREAM, STREAM_DEFAULTS.group));
  await measure('brDrainCpuMs', stack.bareReader, () => events(stack.bareReader, BARE_STREAM, 'bare'));
  for (const [key, child] of [['qp', stack.queueProcessor], ['ep', stack.eventProcessor], ['dlq', stack.dlqProcessor], ['bw', stack.bareWorker], ['br', stack.bareReader]] as const) out[`${key}Peak`] = Math.round(child.peakRssMb());
  out.qpRatio = Math.round((out.qpPeak! / out.bwPeak!) * 100) / 100;
  out.epRatio = Math.round((out.epPeak! / out.brPeak!) * 100) / 100;
  process.stdout.write(`${JSON.stringify({ options: process.env.BENCH_CHILD_NODE_OPTIONS ?? '(production)', flags: process.env.BENCH_CHILD_NODE_FLAGS ?? '', ...out })}\n`);
} finally {
  await Promise.allSettled(Object.values(stack).filter((v): v is BenchChild => typeof v === 'object').map((child) => child.stop()));
  redisQ.disconnect();
  redisS.disconnect();
  await Promise.allSettled([master.stop(), streams.stop(), queueServer.stop()]);
}
