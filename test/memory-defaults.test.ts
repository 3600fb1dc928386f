/**
 * The production V8 settings (issue #12, docs/benchmarks/memory.md, "Memory, compiled" and "Event processor peak"):
 * one NODE_OPTIONS value in the image, in local mode and for every child of the stack
 * benchmark, and one that node accepts in NODE_OPTIONS (node refuses to start on a V8 flag it
 * does not allow there). And the event processor's own command-line flag,
 * `--heap-growing-percent=20`, which node accepts only on its command line: the same in the
 * compose `command` of each event processor, in local mode (EVENT_PROCESSOR_NODE_FLAGS) and for
 * the stack bench's event processor and bare readers; and V8 applies it. And glibc malloc's
 * mmap threshold (MALLOC_MMAP_THRESHOLD_): one value in the image, in local mode and for every
 * bench child (its effect is measured by the stack bench: docs/benchmarks/memory.md, "Event processor peak", twelfth pass).
 */
const GROWING_FLAG = '--heap-growing-percent=20';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { PRODUCTION_MALLOC_MMAP_THRESHOLD, PRODUCTION_NODE_FLAGS, PRODUCTION_NODE_OPTIONS, nodeFlagsOf, productionEnv } from '../bench/lib/child';

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

  it('the heap-growing flag is refused in NODE_OPTIONS, so it is a command-line flag of the event processor', async () => {
    const stderr = await new Promise<string>((resolve) => {
      execFile(process.execPath, ['-e', ''], { env: { PATH: process.env.PATH ?? '', NODE_OPTIONS: GROWING_FLAG } }, (error, _stdout, text) => resolve(error ? text : ''));
    });
    expect(stderr).toContain('is not allowed in NODE_OPTIONS');
    expect(read('scripts/stack.sh')).toContain('nohup node $(service_node_flags "$dir") ${STACK_NODE_FLAGS:-} --conditions=evinfra-dist');
  });

  it('the event processor gets the same node flags in compose, local mode and the stack bench; the other services none', () => {
    expect(PRODUCTION_NODE_FLAGS.event).toEqual([GROWING_FLAG]);
    expect(PRODUCTION_NODE_FLAGS.queue).toEqual([]);
    expect(PRODUCTION_NODE_FLAGS.dlq).toEqual([]);
    const flags = PRODUCTION_NODE_FLAGS.event.map((flag) => `"${flag}", `).join('');
    const compose = read('docker-compose.yml');
    const commands = [...compose.matchAll(/^\s+command: \[(.*)\]$/gm)].map((match) => match[1]!);
    const eventCommands = commands.filter((command) => command.includes('event-system/dist/main.js'));
    expect(eventCommands).toHaveLength(2); // the default stack's and the cluster profile's
    for (const command of eventCommands) expect(command).toBe(`"node", ${flags}"--conditions=evinfra-dist", "event-system/dist/main.js"`);
    for (const command of commands.filter((command) => !command.includes('event-system/'))) expect(command).not.toContain('--heap-growing-percent');
    expect(read('scripts/stack.sh')).toContain(`event-system) echo "\${EVENT_PROCESSOR_NODE_FLAGS-${PRODUCTION_NODE_FLAGS.event.join(' ')}}"`);
    // The bench reads EVENT_PROCESSOR_NODE_FLAGS as local mode does (empty: none).
    expect(nodeFlagsOf('event', {})).toEqual([GROWING_FLAG]);
    expect(nodeFlagsOf('event', { EVENT_PROCESSOR_NODE_FLAGS: '' })).toEqual([]);
    expect(nodeFlagsOf('queue', { EVENT_PROCESSOR_NODE_FLAGS: '--x' })).toEqual([]);
  });

  it('with the flag V8 grows the old generation by less', async () => {
    // A live heap of ~30 MB and a ring of objects that survive scavenges (so their garbage is
    // old-generation garbage): the committed heap's peak over the live size is V8's growing
    // factor at work (measured: ~1.7 with 20 %, ~5 with V8's own factor on this machine).
    const script = [
      "const v8=require('node:v8');const keep=[];for(let i=0;i<300000;i++)keep.push({i,s:'k'+i});",
      'const ring=new Array(100000);let peak=0;const base=v8.getHeapStatistics().used_heap_size;',
      "for(let n=0;n<4e6;n++){ring[n%100000]={n,s:'x'+n};if(n%5000===0)peak=Math.max(peak,v8.getHeapStatistics().total_heap_size);}",
      'process.stdout.write(String(peak/base));keep.length;',
    ].join('');
    const run = (flags: string[]): Promise<number> =>
      new Promise((resolve, reject) => {
        execFile(process.execPath, [...flags, '-e', script], { env: { PATH: process.env.PATH ?? '', NODE_OPTIONS: PRODUCTION_NODE_OPTIONS } }, (error, stdout, stderr) => {
          if (error) reject(new Error(`node refused ${flags.join(' ')}: ${stderr}`));
          else resolve(Number(stdout));
        });
      });
    const flagged = await run([GROWING_FLAG]);
    const own = await run([]);
    expect(flagged).toBeLessThan(2.5);
    expect(own).toBeGreaterThan(flagged * 1.5);
  });
});

describe("production malloc threshold (glibc's MALLOC_MMAP_THRESHOLD_)", () => {
  it('the Dockerfile, scripts/stack.sh and the bench children use the same value; the bench can unset it', () => {
    expect(PRODUCTION_MALLOC_MMAP_THRESHOLD).toMatch(/^[1-9]\d*$/);
    expect(read('Dockerfile')).toMatch(new RegExp(`^ENV MALLOC_MMAP_THRESHOLD_=${PRODUCTION_MALLOC_MMAP_THRESHOLD}$`, 'm'));
    expect(read('scripts/stack.sh')).toContain(`threshold=\${MALLOC_MMAP_THRESHOLD_-${PRODUCTION_MALLOC_MMAP_THRESHOLD}}`);
    expect(productionEnv({}).MALLOC_MMAP_THRESHOLD_).toBe(PRODUCTION_MALLOC_MMAP_THRESHOLD);
    // Empty means unset (glibc may read an empty value as 0 and map every block).
    expect(productionEnv({ BENCH_CHILD_MALLOC_MMAP_THRESHOLD: '' })).not.toHaveProperty('MALLOC_MMAP_THRESHOLD_');
  });
});
