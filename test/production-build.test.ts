/**
 * The production build (issue #12): `npm run build` compiles each workspace to dist/, and the
 * compiled services load their whole module graph with plain node (no tsx): started with an
 * invalid RETRY_ATTEMPTS, each gets past module loading to its configuration check (exit 1, one
 * line naming it), which an unresolved import (ERR_MODULE_NOT_FOUND) would never reach.
 * The import fixer fails the build on a relative import that matches no emitted file.
 * zod reaches the compiled services as one bundled file (scripts/build/vendor-zod.mjs, README
 * "Event processor peak", tenth pass): with a resolve hook that refuses node_modules/zod, each
 * service still reaches its configuration check, and the bundle answers as the package does.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, run } from './support/stack-runner';

const SERVICES = ['queue-system', 'event-system', 'dlq-system'];
const FIXER = join(ROOT, 'scripts', 'build', 'fix-dist-imports.mjs');

function jsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? jsFiles(join(dir, entry.name)) : entry.name.endsWith('.js') ? [join(dir, entry.name)] : [],
  );
}

describe('production build', () => {
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'evinfra-build-'));
    const build = await run('npm', ['run', '--silent', 'build'], process.env, 120_000);
    expect(build.code, build.stderr).toBe(0);
  }, 150_000);

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('every relative import of the emitted JavaScript names a file (.js)', () => {
    const dists = ['packages/shared/dist', ...SERVICES.map((service) => `${service}/dist`)];
    const bare: string[] = [];
    for (const dist of dists) {
      for (const file of jsFiles(join(ROOT, dist))) {
        for (const match of readFileSync(file, 'utf8').matchAll(/\bfrom\s*['"](\.{1,2}\/[^'"]*)['"]/g)) {
          if (!match[1]!.endsWith('.js')) bare.push(`${file}: ${match[1]}`);
        }
      }
    }
    expect(bare).toEqual([]);
  });

  it.each(SERVICES)('%s/dist/main.js loads with plain node and stops at its configuration check', async (service) => {
    const result = await run(process.execPath, ['--conditions=evinfra-dist', `${service}/dist/main.js`], { PATH: process.env.PATH ?? '', RETRY_ATTEMPTS: 'not-a-number' }, 30_000);
    expect(result.stderr).not.toContain('ERR_MODULE_NOT_FOUND');
    expect(result.code, result.stderr).toBe(1);
    expect(result.stderr).toContain('invalid configuration: RETRY_ATTEMPTS');
  }, 40_000);

  it.each(SERVICES)('%s/dist/main.js loads zod from the bundle, never from node_modules/zod', async (service) => {
    const hook = join(dir, 'refuse-zod-hook.mjs');
    writeFileSync(
      hook,
      'export async function resolve(specifier, context, next) {\n' +
        '  const resolved = await next(specifier, context);\n' +
        "  if (resolved.url.includes('/node_modules/zod/')) throw new Error(`package zod loaded: ${resolved.url}`);\n" +
        '  return resolved;\n}\n',
    );
    const register = join(dir, 'register-refuse-zod.mjs');
    writeFileSync(register, `import { register } from 'node:module';\nregister(${JSON.stringify(`file://${hook}`)});\n`);
    const result = await run(process.execPath, ['--conditions=evinfra-dist', '--import', register, `${service}/dist/main.js`], { PATH: process.env.PATH ?? '', RETRY_ATTEMPTS: 'not-a-number' }, 30_000);
    expect(result.stderr).not.toContain('package zod loaded');
    expect(result.code, result.stderr).toBe(1);
    expect(result.stderr).toContain('invalid configuration: RETRY_ATTEMPTS');
  }, 40_000);

  it('the bundled zod parses and words its issues as the zod package does', async () => {
    const bundled = (await import(join(ROOT, 'packages/shared/dist/vendor/zod.js'))) as typeof import('zod');
    const packaged = await import('zod');
    const schemaOf = ({ z }: typeof import('zod')) =>
      z.strictObject({
        type: z.string().min(1).max(8).regex(/^[a-z.]+$/),
        count: z.coerce.number().int().min(1).max(100).optional(),
        flag: z.stringbool().optional(),
        kind: z.enum(['a', 'b']),
        data: z.record(z.string(), z.union([z.string(), z.number()])).optional(),
        at: z.iso.datetime().optional(),
      });
    const inputs: unknown[] = [
      { type: 'user.new', kind: 'a' },
      { type: 'ok', kind: 'a', count: '7', flag: 'true', data: { x: 1, y: 'z' }, at: '2026-12-02T20:00:00Z' },
      { type: '', kind: 'c', count: '1.5', flag: 'maybe', extra: 1 },
      { type: 'Bad Type!', kind: 'b', data: { x: {} }, at: 'yesterday', count: 1000 },
      'not an object',
      null,
    ];
    const bundledSchema = schemaOf(bundled);
    const packagedSchema = schemaOf(packaged);
    for (const input of inputs) expect(bundledSchema.safeParse(input)).toEqual(packagedSchema.safeParse(input));
    expect(inputs.filter((input) => !packagedSchema.safeParse(input).success).length).toBe(4);
  });

  it('the import fixer fails on a relative import that matches no emitted file', async () => {
    const dist = join(dir, 'dist');
    mkdirSync(join(dist, 'lib'), { recursive: true });
    writeFileSync(join(dist, 'lib', 'index.js'), 'export const a = 1;\n');
    writeFileSync(join(dist, 'ok.js'), "import { a } from './lib';\nexport { a };\n");
    const fixed = await run(process.execPath, [FIXER, dist], process.env, 10_000);
    expect(fixed.code, fixed.stderr).toBe(0);
    expect(readFileSync(join(dist, 'ok.js'), 'utf8')).toContain("from './lib/index.js'");
    writeFileSync(join(dist, 'broken.js'), "import { b } from './missing';\n");
    const broken = await run(process.execPath, [FIXER, dist], process.env, 10_000);
    expect(broken.code).not.toBe(0);
    expect(broken.stderr).toContain("import './missing' matches no emitted file");
  });
});
