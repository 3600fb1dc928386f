import { readFileSync } from 'node:fs';
for (const m of process.argv.slice(2)) await import(m);
global.gc(); await new Promise(r => setTimeout(r, 200)); global.gc();
const s = readFileSync('/proc/self/smaps_rollup', 'utf8');
const g = (k) => (Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(s)?.[1] ?? 0) / 1024);
console.log('rss', g('Rss').toFixed(1), 'anon', g('Anonymous').toFixed(1), 'file', (g('Rss') - g('Anonymous')).toFixed(1), process.argv.slice(2).join(' '));
