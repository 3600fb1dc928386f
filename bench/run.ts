/**
 * `npm run bench [-- <suite-name-filter>]`: runs every suite in bench/suites/, each on its own
 * fresh redis-server, and prints one table with each figure, its baseline from the same run
 * and the ratio. Not a test: a missed target fails nothing; a suite that throws becomes a
 * `FAILED` row and the exit code is 1. `BENCH_SCALE=0.1` gives a quick look (smaller counts,
 * fewer rounds). Rows in MB are peak RSS (lower is better, ratio shown as `x`).
 */
import { readdirSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { startRedisServer } from '@event-infra/testing';
import type { BenchRow, BenchSuite } from './types';

const filter = process.argv[2];
const scale = Number(process.env.BENCH_SCALE ?? '1');
const suitesDir = fileURLToPath(new URL('./suites/', import.meta.url));

function format(value: number | undefined, unit = ''): string {
  if (value === undefined || Number.isNaN(value)) return '';
  const text = value >= 100 ? Math.round(value).toLocaleString('en-US') : value.toFixed(2);
  return unit ? `${text} ${unit}` : text;
}

function verdict(row: BenchRow): { ratio: string; target: string; met: string } {
  if (Number.isNaN(row.value)) return { ratio: '', target: '', met: '' };
  if (row.lowerIsBetter) {
    const ratio = row.baselineValue ? row.value / row.baselineValue : undefined;
    if (row.maxRatio !== undefined) {
      return {
        ratio: ratio !== undefined ? `${ratio.toFixed(2)}x` : '',
        target: `<= ${row.maxRatio.toFixed(2)}x`,
        met: ratio === undefined ? '' : ratio <= row.maxRatio ? 'yes' : 'NO',
      };
    }
    return {
      ratio: ratio !== undefined ? `${ratio.toFixed(2)}x` : '',
      target: row.target !== undefined ? `< ${format(row.target, row.unit)}` : '',
      met: row.target === undefined ? '' : row.value < row.target ? 'yes' : 'NO',
    };
  }
  const ratio = row.baselineValue ? row.value / row.baselineValue : undefined;
  return {
    ratio: ratio !== undefined ? ratio.toFixed(2) : '',
    target: row.target !== undefined ? `>= ${row.target.toFixed(2)}` : '',
    met: row.target === undefined || ratio === undefined ? '' : ratio >= row.target ? 'yes' : 'NO',
  };
}

function printTable(rows: (BenchRow & { suite: string })[]): void {
  const header = ['suite', 'metric', 'value', 'baseline', 'baseline value', 'ratio', 'target', 'met', 'note'];
  const lines = rows.map((row) => {
    const { ratio, target, met } = verdict(row);
    return [row.suite, row.metric, format(row.value, row.unit), row.baseline ?? '', format(row.baselineValue, row.unit), ratio, target, met, row.note ?? ''];
  });
  const widths = header.map((title, column) => Math.max(title.length, ...lines.map((line) => line[column]!.length)));
  const render = (cells: string[]): string => `| ${cells.map((cell, column) => cell.padEnd(widths[column]!)).join(' | ')} |`;
  process.stdout.write(`${render(header)}\n|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|\n`);
  for (const line of lines) process.stdout.write(`${render(line)}\n`);
}

const files = readdirSync(suitesDir)
  .filter((file) => file.endsWith('.ts'))
  .sort();
const rows: (BenchRow & { suite: string })[] = [];
for (const file of files) {
  const suite = (await import(pathToFileURL(join(suitesDir, file)).href)).default as BenchSuite;
  if (filter && !suite.name.includes(filter)) continue;
  process.stderr.write(`bench: ${suite.name}…\n`);
  const redis = await startRedisServer();
  try {
    for (const row of await suite.run({ redis, scale })) rows.push({ suite: suite.name, ...row });
  } catch (caught) {
    // One failing suite must not hide the others' figures: it becomes a row of its own.
    process.exitCode = 1;
    rows.push({ suite: suite.name, metric: 'FAILED', value: Number.NaN, unit: '', note: caught instanceof Error ? caught.message : String(caught) });
  } finally {
    await redis.stop();
  }
}
printTable(rows);
