/**
 * Reads a child's `--trace-gc --trace-gc-verbose` output (issue 12, README "Event processor
 * peak", eighth pass) and prints one JSON line per full collection (Mark-Compact): its time,
 * the old generation's committed size after it as V8's memory reducer compares it
 * (`CommittedOldGenerationMemory`: old, code, large-object and code-large-object spaces, KB),
 * their used size, each space's committed size, the limit V8 set and its factor. The first
 * collection run by the memory reducer ("Memory reducer: started GC") after start fixes the
 * reducer's base; every line then says how far (KB) the committed size stands below the
 * re-arm threshold, max(1.1 x base, base + 10 MB) of the reducer's last run, and the last line
 * sums it up (minimum margin over the collections after the base, swings: collections whose
 * factor is 4.0 after the base). The base moves with each reducer run.
 * Usage: node bench/tools/gc-trace-summary.mjs <child>.out [--from-ms N]
 */
import { readFileSync } from 'node:fs';

const [file, ...rest] = process.argv.slice(2);
if (!file) throw new Error('usage: gc-trace-summary.mjs <trace file> [--from-ms N]');
const fromMs = rest[0] === '--from-ms' ? Number(rest[1]) : 0;
const lines = readFileSync(file, 'utf8').split('\n');
const SPACES = { 'Old space': 'old', 'Code space': 'code', 'Large object space': 'lo', 'Code large object space': 'codeLo', 'New space': 'new' };
const OLD_GENERATION = ['old', 'code', 'lo', 'codeLo'];
const THRESHOLD_DELTA_KB = 10 * 1024;
const rows = [];
let limit;
let reducerGc = false;
let base;
let current;
for (const line of lines) {
  const time = /\s(\d+) ms: /.exec(line);
  const ms = time ? Number(time[1]) : undefined;
  const heapLimit = /\[HeapController\] Limit: old size: (\d+) KB, new limit: (\d+) KB \(([\d.]+)\)/.exec(line);
  if (heapLimit) limit = { oldSizeKb: Number(heapLimit[1]), limitKb: Number(heapLimit[2]), factor: Number(heapLimit[3]) };
  if (/Memory reducer: started GC/.test(line)) reducerGc = true;
  if (/ Mark-Compact /.test(line)) {
    current = { ms, byReducer: reducerGc || /memory reducer/i.test(line), limit, spaces: {}, used: {} };
    reducerGc = false;
    limit = undefined;
    rows.push(current);
    continue;
  }
  if (/ (Scavenge|Minor Mark-Sweep) /.test(line)) {
    current = undefined;
    continue;
  }
  const space = /\] (Old space|Code space|Large object space|Code large object space|New space),\s+used:\s+(\d+) KB, available:\s+\d+ KB, committed:\s+(\d+) KB/.exec(line);
  if (space && current) {
    current.used[SPACES[space[1]]] = Number(space[2]);
    current.spaces[SPACES[space[1]]] = Number(space[3]);
  }
}
let minMargin = Number.POSITIVE_INFINITY;
let swings = 0;
for (const row of rows) {
  const committedKb = OLD_GENERATION.reduce((sum, name) => sum + (row.spaces[name] ?? 0), 0);
  const usedKb = OLD_GENERATION.reduce((sum, name) => sum + (row.used[name] ?? 0), 0);
  const threshold = base === undefined ? undefined : Math.max(Math.round(base * 1.1), base + THRESHOLD_DELTA_KB);
  const marginKb = threshold === undefined ? undefined : threshold - committedKb;
  const counted = base !== undefined && !row.byReducer && (row.ms ?? 0) >= fromMs;
  if (counted) {
    minMargin = Math.min(minMargin, marginKb);
    if (row.limit?.factor === 4) swings += 1;
  }
  process.stdout.write(`${JSON.stringify({ ms: row.ms, byReducer: row.byReducer, committedKb, usedKb, thresholdKb: threshold, marginKb, spaces: row.spaces, limit: row.limit })}\n`);
  if (row.byReducer) base = committedKb;
}
process.stdout.write(`${JSON.stringify({ summary: true, fullGcs: rows.length, baseKb: base, minMarginKb: Number.isFinite(minMargin) ? minMargin : undefined, factor4AfterBase: swings })}\n`);
