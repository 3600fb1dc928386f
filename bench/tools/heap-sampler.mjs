/**
 * Memory sampler for the event-memory probe (issue 12): `node --import ./bench/tools/heap-sampler.mjs`
 * appends one JSON line every HEAP_SAMPLE_MS (25) to HEAP_SAMPLE_FILE: time, VmRSS, VmHWM,
 * RssAnon, RssFile (MB, /proc/self/status), V8's heap spaces (size and used, MB), external and
 * array-buffer bytes, CPU time (ms), thread count; the first line (tag `import`) at once. Only
 * for probes: it allocates itself (the same in every child it is given to).
 */
import { appendFileSync, readFileSync } from 'node:fs';
import { getHeapSpaceStatistics } from 'node:v8';

const file = process.env.HEAP_SAMPLE_FILE;
const everyMs = Number(process.env.HEAP_SAMPLE_MS ?? 25);
const mb = (bytes) => Math.round(bytes / 10485.76) / 100;
const status = () => {
  const text = readFileSync('/proc/self/status', 'utf8');
  const field = (name) => Math.round(Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(text)?.[1] ?? 0) / 10.24) / 100;
  return { rss: field('VmRSS'), hwm: field('VmHWM'), anon: field('RssAnon'), file: field('RssFile'), threads: Number(/^Threads:\s+(\d+)/m.exec(text)?.[1]) };
};
const sample = (tag) => {
  const spaces = {};
  for (const space of getHeapSpaceStatistics()) spaces[space.space_name.replace(/_space$/, '')] = [mb(space.space_size), mb(space.space_used_size)];
  const memory = process.memoryUsage();
  const cpu = process.cpuUsage();
  const line = { t: Date.now(), ...(tag ? { tag } : {}), ...status(), spaces, external: mb(memory.external), arrayBuffers: mb(memory.arrayBuffers), cpuMs: Math.round((cpu.user + cpu.system) / 1000) };
  appendFileSync(file, `${JSON.stringify(line)}\n`);
};
if (file) {
  sample('import');
  setInterval(sample, everyMs).unref();
}
