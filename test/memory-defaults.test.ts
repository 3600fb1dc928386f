/**
 * The production V8 setting (issue #12, README "Memory, compiled"): one NODE_OPTIONS value in
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
    expect(PRODUCTION_NODE_OPTIONS).toMatch(/^--max-semi-space-size=\d+$/);
    expect(read('Dockerfile')).toMatch(new RegExp(`^ENV NODE_OPTIONS=${PRODUCTION_NODE_OPTIONS}$`, 'm'));
    expect(read('scripts/stack.sh')).toContain(`NODE_OPTIONS="\${NODE_OPTIONS-${PRODUCTION_NODE_OPTIONS}}"`);
  });

  it('node starts with it in NODE_OPTIONS and V8 applies it', async () => {
    const script = "const v8=require('node:v8');process.stdout.write(String(v8.getHeapSpaceStatistics().find((s)=>s.space_name==='new_space').space_size))";
    const run = (nodeOptions: string): Promise<number> =>
      new Promise((resolve, reject) => {
        execFile(process.execPath, ['-e', script], { env: { PATH: process.env.PATH ?? '', NODE_OPTIONS: nodeOptions } }, (error, stdout, stderr) => {
          if (error) reject(new Error(`node refused NODE_OPTIONS=${nodeOptions}: ${stderr}`));
          else resolve(Number(stdout));
        });
      });
    const semiSpaceMb = Number(PRODUCTION_NODE_OPTIONS.split('=')[1]);
    expect(await run(PRODUCTION_NODE_OPTIONS)).toBeLessThanOrEqual(2 * semiSpaceMb * 1024 * 1024);
  });
});
