/**
 * What a process promotes (issue 12, docs/benchmarks/memory.md, "Event processor peak", seventh pass):
 * `node --import ./bench/tools/promotion-profiler.mjs …` runs V8's sampling heap profiler
 * keeping the objects collected by full collections but not those collected by scavenges,
 * i.e. what outlived the young generation and died in the old one (plus the live heap). On
 * SIGUSR2 it writes PROMO_OUT-<pid>-<n>.txt (PROMO_OUT default /tmp/promotion): total MB, then
 * the 60 heaviest allocation sites with their four callers, and starts again. Writes
 * PROMO_OUT-<pid>.pid with its pid and entry at start, to find whom to signal. With
 * the probe: BENCH_CHILD_NODE_OPTIONS="--max-semi-space-size=2 --import=$PWD/bench/tools/promotion-profiler.mjs".
 * Only for probes: sampling every 2 KB slows the process.
 */
import { Session } from 'node:inspector';
import { writeFileSync } from 'node:fs';

const base = `${process.env.PROMO_OUT ?? '/tmp/promotion'}-${process.pid}`;
writeFileSync(`${base}.pid`, `${process.pid} ${process.argv[1] ?? ''}\n`);
const session = new Session();
session.connect();
session.post('HeapProfiler.enable');
const start = () => session.post('HeapProfiler.startSampling', { samplingInterval: 2048, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: false });
start();

const frame = ({ functionName, url, lineNumber }) => `${functionName || '(anonymous)'} ${url.replace(/^.*node_modules\//, '').replace(/^file:\/\//, '')}:${lineNumber + 1}`;
let written = 0;
process.on('SIGUSR2', () => {
  session.post('HeapProfiler.stopSampling', (err, result) => {
    if (err) throw err;
    const sites = new Map();
    const walk = (node, stack) => {
      const here = [frame(node.callFrame), ...stack].slice(0, 5);
      if (node.selfSize > 0) sites.set(here.join(' < '), (sites.get(here.join(' < ')) ?? 0) + node.selfSize);
      for (const child of node.children) walk(child, here);
    };
    walk(result.profile.head, []);
    const total = [...sites.values()].reduce((sum, bytes) => sum + bytes, 0);
    const mb = (bytes) => (bytes / 1048576).toFixed(2);
    const rows = [...sites].sort((a, b) => b[1] - a[1]).slice(0, 60).map(([site, bytes]) => `${mb(bytes)} MB ${((100 * bytes) / total).toFixed(1)}%  ${site}`);
    writeFileSync(`${base}-${written++}.txt`, `total ${mb(total)} MB\n${rows.join('\n')}\n`);
    start();
  });
});
