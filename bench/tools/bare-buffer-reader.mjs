/**
 * Bare stream reader for `traceparent-probe.ts`: what reading a stream costs Node with the
 * stack's library and nothing of the stack's code. XREADGROUP … COUNT 100 read as Buffers
 * (`xreadgroupBuffer`, as the event processor's consumer loop reads), each batch acknowledged
 * with one XACK, until BENCH_COUNT entries are read; the first BENCH_WARMUP entries are not
 * timed. Prints `ready`, drains on the line `drain`, answers one JSON line: entries/s, this
 * process's CPU (process.cpuUsage, all threads) per entry in µs, scavenges (PerformanceObserver
 * `gc`) and the redis-server's CPU per entry (INFO cpu). Env: BENCH_WORK_URL, BENCH_STREAM,
 * BENCH_GROUP, BENCH_COUNT, BENCH_WARMUP.
 */
import { createInterface } from 'node:readline';
import { PerformanceObserver, constants } from 'node:perf_hooks';
import { Redis } from 'ioredis';

const { BENCH_WORK_URL: url, BENCH_STREAM: stream, BENCH_GROUP: group } = process.env;
const count = Number(process.env.BENCH_COUNT);
const warmup = Number(process.env.BENCH_WARMUP ?? '0');
const reader = new Redis(url, { maxRetriesPerRequest: null });
const admin = new Redis(url, { maxRetriesPerRequest: null });
const redisCpuUs = async () => {
  const info = await admin.info('cpu');
  const field = (name) => Number(new RegExp(`^${name}:([0-9.]+)`, 'm').exec(info)?.[1] ?? Number.NaN);
  return (field('used_cpu_user') + field('used_cpu_sys')) * 1e6;
};
let counting = false;
let scavenges = 0;
new PerformanceObserver((list) => {
  if (counting) for (const entry of list.getEntries()) if (entry.detail?.kind === constants.NODE_PERFORMANCE_GC_MINOR) scavenges += 1;
}).observe({ entryTypes: ['gc'] });
try {
  await reader.xgroup('CREATE', stream, group, '0', 'MKSTREAM');
} catch (caught) {
  if (!String(caught).includes('BUSYGROUP')) throw caught;
}
process.stdout.write('ready\n');
await new Promise((resolve) => createInterface({ input: process.stdin }).on('line', (line) => line.trim() === 'drain' && resolve()));
let read = 0;
let started = 0;
let cpu;
let redisBefore;
let fieldsSeen = 0;
while (read < count) {
  const reply = await reader.xreadgroupBuffer('GROUP', group, 'bare', 'COUNT', 100, 'BLOCK', 2_000, 'STREAMS', stream, '>');
  const entries = reply?.[0]?.[1] ?? [];
  if (entries.length === 0) break;
  const ids = entries.map(([id]) => id);
  // Touch every field as a consumer would, without decoding it.
  for (const [, fields] of entries) fieldsSeen += fields.length;
  await reader.xack(stream, group, ...ids);
  if (read < warmup && read + entries.length >= warmup) {
    counting = true;
    redisBefore = await redisCpuUs();
    started = performance.now();
    cpu = process.cpuUsage();
  }
  read += entries.length;
}
const items = read - warmup;
const ms = performance.now() - started;
const used = process.cpuUsage(cpu);
const redisAfter = await redisCpuUs();
await new Promise((resolve) => setImmediate(resolve));
counting = false;
process.stdout.write(`${JSON.stringify({ rate: items / (ms / 1_000), items, nodeUs: (used.user + used.system) / items, workUs: (redisAfter - redisBefore) / items, minorGcs: scavenges, fieldsPerEntry: fieldsSeen / read })}\n`);
reader.disconnect();
admin.disconnect();
