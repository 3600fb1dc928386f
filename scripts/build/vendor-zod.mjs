// After tsc and fix-dist-imports (issue 12, memory; README "Event processor peak", tenth pass):
// the compiled services load zod from one minified file instead of its ~100 package files.
// esbuild bundles zod's classic API into packages/shared/dist/vendor/zod.js (ESM, minified,
// `charset: ascii`, so V8 keeps its source one byte per character; only the English locale,
// which zod's classic API configures and whose messages the API answers in `details`), and each
// `from 'zod'` of the emitted dist/**/*.js becomes a relative import of that file: one zod
// instance per compiled process. Sources, tests and tsx keep importing the package; the .d.ts
// files keep 'zod'. Usage: node scripts/build/vendor-zod.mjs DIST_DIR...
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const OUT = join(ROOT, 'packages/shared/dist/vendor/zod.js');
const ZOD_IMPORT = /(\bfrom\s*)(['"])zod\2/g;

await build({
  stdin: { contents: "export * from 'zod'; export { default } from 'zod';", resolveDir: ROOT, loader: 'js' },
  bundle: true,
  minify: true,
  charset: 'ascii',
  format: 'esm',
  platform: 'node',
  target: 'node20',
  legalComments: 'none',
  logLevel: 'warning',
  outfile: OUT,
  plugins: [
    {
      // zod's `locales` namespace re-exports ~60 languages; only English is used (configured by
      // zod's classic API itself), so the namespace is English alone.
      name: 'zod-english-only',
      setup(onBuild) {
        onBuild.onResolve({ filter: /\/locales\/index\.js$/ }, (args) => ({ path: join(args.resolveDir, '../locales/en.js') }));
      },
    },
  ],
});

function jsFiles(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return jsFiles(path);
    return entry.name.endsWith('.js') ? [path] : [];
  });
}

const dirs = process.argv.slice(2);
if (dirs.length === 0) throw new Error('usage: vendor-zod.mjs DIST_DIR...');
let rewritten = 0;
let importers = 0;
for (const dir of dirs) {
  for (const file of jsFiles(resolve(dir))) {
    if (file === OUT) continue;
    const source = readFileSync(file, 'utf8');
    const output = source.replace(ZOD_IMPORT, (_match, lead, quote) => {
      rewritten += 1;
      const path = relative(dirname(file), OUT);
      return `${lead}${quote}${path.startsWith('.') ? path : `./${path}`}${quote}`;
    });
    if (output !== source) writeFileSync(file, output);
    if (output.includes('vendor/zod.js')) importers += 1;
  }
}
// tsc -b does not re-emit unchanged files, which an earlier build already rewrote.
if (importers === 0) throw new Error('vendor-zod: no compiled file imports zod');
console.log(`vendor-zod: ${rewritten} zod imports rewritten, ${importers} files import the bundle, in ${dirs.join(' ')} -> ${relative(ROOT, OUT)}`);
