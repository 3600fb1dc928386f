/**
 * The production V8 settings (issue #12, README "Benchmarks", memory): one NODE_OPTIONS value in
 * the image, in local mode and for every child of the stack benchmark, and one that node
 * accepts in NODE_OPTIONS (node refuses to start on a V8 flag it does not allow there).
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { PRODUCTION_NODE_OPTIONS } from '../bench/lib/child';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const read = (path: string): string => readFileSync(`${ROOT}${path}`, 'utf8');

describe('production NODE_OPTIONS', () => {
  it('the Dockerfile, scripts/stack.sh and the bench children use the same value', () => {
    expect(PRODUCTION_NODE_OPTIONS).toMatch(/^--max-semi-space-size=\d+ --max-old-space-size=\d+$/);
    expect(read('Dockerfile')).toMatch(new RegExp(`^ENV NODE_OPTIONS="${PRODUCTION_NODE_OPTIONS}"$`, 'm'));
    expect(read('scripts/stack.sh')).toContain(`NODE_OPTIONS="\${NODE_OPTIONS-${PRODUCTION_NODE_OPTIONS}}"`);
  });

  it('node starts with it in NODE_OPTIONS and V8 applies both sizes', async () => {
    const script =
      "const v8=require('node:v8');process.stdout.write(JSON.stringify({newSpace:v8.getHeapSpaceStatistics().find((s)=>s.space_name==='new_space').space_size,limit:v8.getHeapStatistics().heap_size_limit}))";
    const run = (nodeOptions: string): Promise<{ newSpace: number; limit: number }> =>
      new Promise((resolve, reject) => {
        execFile(process.execPath, ['-e', script], { env: { PATH: process.env.PATH ?? '', NODE_OPTIONS: nodeOptions } }, (error, stdout, stderr) => {
          if (error) reject(new Error(`node refused NODE_OPTIONS=${nodeOptions}: ${stderr}`));
          else resolve(JSON.parse(stdout) as { newSpace: number; limit: number });
        });
      });
    const mb = (flag: string): number => Number(new RegExp(`--${flag}=(\\d+)`).exec(PRODUCTION_NODE_OPTIONS)![1]) * 1024 * 1024;
    const applied = await run(PRODUCTION_NODE_OPTIONS);
    expect(applied.newSpace).toBeLessThanOrEqual(2 * mb('max-semi-space-size'));
    // heap_size_limit is the old generation's ceiling plus the young generation's reservation.
    expect(applied.limit).toBeGreaterThanOrEqual(mb('max-old-space-size'));
    expect(applied.limit).toBeLessThan(mb('max-old-space-size') + 64 * 1024 * 1024);
    expect((await run('')).limit).toBeGreaterThan(applied.limit);
  });
});
