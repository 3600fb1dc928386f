/**
 * What importing one module costs at start (issue 12, docs/benchmarks/memory.md, "Module footprint"): the module
 * files it loads, by package, with their source size (needs `--import ./bench/tools/module-loads.mjs`),
 * and the live heap after two full collections with VmRSS/VmHWM then (needs `--expose-gc`;
 * measure it without the hook, whose loader thread is not in these figures but adds to RSS). Several entries: imported
 * in order, the figures are for all of them. One JSON line on stdout. Example (compiled service):
 *   node --conditions=evinfra-dist --import ./bench/tools/module-loads.mjs bench/tools/module-count.mjs ./queue-system/dist/service.js
 *   node --conditions=evinfra-dist --expose-gc bench/tools/module-count.mjs ./queue-system/dist/service.js
 */
import { readFileSync, statSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';

const entries = process.argv.slice(2);
for (const entry of entries) await import(entry.startsWith('.') || entry.startsWith('/') ? pathToFileURL(resolve(entry)).href : entry);
const out = { entries };
if (globalThis.gc) {
  globalThis.gc();
  globalThis.gc();
  out.heapUsedMb = Math.round(process.memoryUsage().heapUsed / 1e4) / 100;
  // RSS after the collections (and 300 ms for the concurrent sweeper), and the peak so far.
  await new Promise((resolve) => setTimeout(resolve, 300));
  const status = readFileSync('/proc/self/status', 'utf8');
  for (const [key, field] of [['rssMb', 'VmRSS'], ['hwmMb', 'VmHWM']]) out[key] = Math.round(Number(new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(status)?.[1]) / 102.4) / 10;
}
if (globalThis.__moduleLoads) {
  const files = await globalThis.__moduleLoads();
  const byPackage = {};
  let bytes = 0;
  for (const file of files) {
    const size = statSync(file).size;
    bytes += size;
    const match = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(file);
    const key = match ? match[1] : '(workspace)';
    byPackage[key] ??= { files: 0, kb: 0 };
    byPackage[key].files += 1;
    byPackage[key].kb += size / 1024;
  }
  for (const value of Object.values(byPackage)) value.kb = Math.round(value.kb);
  Object.assign(out, { files: files.length, kb: Math.round(bytes / 1024), byPackage });
}
process.stdout.write(`${JSON.stringify(out)}\n`);
process.exit(0);
