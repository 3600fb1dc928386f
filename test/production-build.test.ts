/**
 * The production build (issue #12): `npm run build` compiles each workspace to dist/, and the
 * compiled services load their whole module graph with plain node (no tsx): started with an
 * invalid RETRY_ATTEMPTS, each gets past module loading to its configuration check (exit 1, one
 * line naming it), which an unresolved import (ERR_MODULE_NOT_FOUND) would never reach.
 * The import fixer fails the build on a relative import that matches no emitted file.
 * zod reaches the compiled services as one bundled file (scripts/build/vendor.mjs, pointed at by
 * fix-dist-imports --vendor; docs/benchmarks/memory.md, "Event processor peak", tenth pass): with a hook that
 * refuses its package files (imported or required), each service still reaches its
 * configuration check, and the bundle answers as the package does.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, run } from './support/stack-runner';

const SERVICES = ['queue-system', 'event-system', 'dlq-system'];
const FIXER = join(ROOT, 'scripts', 'build', 'fix-dist-imports.mjs');
interface VendorBundle { file: string; packages: string[] }
/** The bundles' manifest (scripts/build/vendor.mjs), read after the build. */
let MANIFEST: Record<string, VendorBundle>;

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
    MANIFEST = JSON.parse(readFileSync(join(ROOT, 'packages/shared/dist/vendor/manifest.json'), 'utf8')) as Record<string, VendorBundle>;
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

  it.each(SERVICES)('%s/dist/main.js loads every bundled package from its bundle, never from node_modules', async (service) => {
    // Every package a bundle holds: refused when an ES import resolves into it, and listed at
    // exit when a require() loaded it.
    const bundled = Object.values(MANIFEST).flatMap((bundle) => bundle.packages);
    const hook = join(dir, 'refuse-bundled-hook.mjs');
    writeFileSync(
      hook,
      `const bundled = ${JSON.stringify(bundled)};\n` +
        'export async function resolve(specifier, context, next) {\n' +
        '  const resolved = await next(specifier, context);\n' +
        "  for (const name of bundled) if (resolved.url.includes(`/node_modules/${name}/`)) throw new Error(`package ${name} loaded: ${resolved.url}`);\n" +
        '  return resolved;\n}\n',
    );
    const register = join(dir, 'register-refuse-bundled.mjs');
    writeFileSync(
      register,
      "import { createRequire, register } from 'node:module';\n" +
        `register(${JSON.stringify(`file://${hook}`)});\n` +
        `const bundled = ${JSON.stringify(bundled)};\n` +
        'const cache = createRequire(import.meta.url).cache;\n' +
        "process.on('exit', () => {\n" +
        '  for (const path of Object.keys(cache)) for (const name of bundled) if (path.includes(`/node_modules/${name}/`)) process.stderr.write(`package ${name} loaded: ${path}\\n`);\n' +
        '});\n',
    );
    const result = await run(process.execPath, ['--conditions=evinfra-dist', '--import', register, `${service}/dist/main.js`], { PATH: process.env.PATH ?? '', RETRY_ATTEMPTS: 'not-a-number' }, 30_000);
    expect(result.stderr).not.toContain('loaded: ');
    expect(result.code, result.stderr).toBe(1);
    expect(result.stderr).toContain('invalid configuration: RETRY_ATTEMPTS');
  }, 40_000);

  it('the hook above sees a package loaded from node_modules (by import and by require)', async () => {
    const register = join(dir, 'register-refuse-bundled.mjs');
    const imported = await run(process.execPath, ['--import', register, '--input-type=module', '-e', "await import('zod');"], { PATH: process.env.PATH ?? '' }, 20_000);
    expect(imported.stderr).toContain('package zod loaded');
    const required = await run(process.execPath, ['--import', register, '-e', "require('zod');"], { PATH: process.env.PATH ?? '' }, 20_000);
    expect(required.stderr).toContain('package zod loaded');
  }, 40_000);

  it('the manifest names each bundle and the packages it holds', () => {
    expect(MANIFEST).toEqual({ zod: { file: 'zod.js', packages: ['zod'] } });
  });

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

  it('the import fixer points imports of a bundled package at its bundle (not a subpath), and fails when none imports one', async () => {
    const dist = join(dir, 'vendored');
    mkdirSync(join(dist, 'vendor'), { recursive: true });
    mkdirSync(join(dist, 'deep', 'er'), { recursive: true });
    writeFileSync(join(dist, 'vendor', 'manifest.json'), JSON.stringify({ zod: { file: 'zod.js', packages: ['zod'] } }));
    writeFileSync(join(dist, 'vendor', 'zod.js'), "import 'zod';\n");
    writeFileSync(join(dist, 'deep', 'er', 'a.js'), "import { z } from 'zod';\nimport * as v4 from 'zod/v4';\nimport 'zodiac';\nexport { z, v4 };\n");
    writeFileSync(join(dist, 'b.js'), "export { z } from \"zod\";\nconst lazy = () => import('zod');\n");
    // Relative paths, as `npm run build` passes them.
    const fixed = await run(process.execPath, [FIXER, '--vendor', relative(ROOT, join(dist, 'vendor')), relative(ROOT, dist)], process.env, 10_000);
    expect(fixed.code, fixed.stderr).toBe(0);
    expect(readFileSync(join(dist, 'deep', 'er', 'a.js'), 'utf8')).toBe("import { z } from '../../vendor/zod.js';\nimport * as v4 from 'zod/v4';\nimport 'zodiac';\nexport { z, v4 };\n");
    expect(readFileSync(join(dist, 'b.js'), 'utf8')).toBe("export { z } from \"./vendor/zod.js\";\nconst lazy = () => import('./vendor/zod.js');\n");
    expect(readFileSync(join(dist, 'vendor', 'zod.js'), 'utf8')).toBe("import 'zod';\n");
    // A second run (tsc -b re-emits nothing) leaves the files as they are and still passes.
    const again = await run(process.execPath, [FIXER, '--vendor', join(dist, 'vendor'), dist], process.env, 10_000);
    expect(again.code, again.stderr).toBe(0);
    expect(readFileSync(join(dist, 'b.js'), 'utf8')).toContain('"./vendor/zod.js"');
    const none = join(dir, 'unvendored');
    mkdirSync(none, { recursive: true });
    writeFileSync(join(none, 'c.js'), 'export const c = 1;\n');
    const missing = await run(process.execPath, [FIXER, '--vendor', join(dist, 'vendor'), none], process.env, 10_000);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain('no compiled file imports a bundle');
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
