import { createRequire } from 'node:module';
for (const m of process.argv.slice(2)) await import(m);
global.gc(); global.gc();
const m = process.memoryUsage();
console.log('used', (m.heapUsed/1048576).toFixed(1), 'total', (m.heapTotal/1048576).toFixed(1), 'cjs', Object.keys(createRequire(import.meta.url).cache).length, process.argv.slice(2).join(' '));
