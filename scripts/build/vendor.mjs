// After tsc (issue 12, memory; docs/benchmarks/memory.md, "Event processor peak", tenth pass): the compiled services
// load zod from one minified file instead of its ~100 package files. esbuild bundles each entry
// of BUNDLES into packages/shared/dist/vendor/<name>.js (ESM, minified, `charset: ascii` so
// that V8 keeps the source one byte per character); fix-dist-imports (`--vendor`) then points
// the compiled files' imports of the package at it, so each compiled process holds one
// instance. Sources, tests and tsx keep the package; the .d.ts files keep its name. Writes
// vendor/manifest.json: per bundle, the packages it holds (test/production-build.test.ts: none
// may load from node_modules in a compiled service). express, prom-client and pino were bundled
// too and measured (eleventh pass): no RSS gain, not kept.
// Usage: node scripts/build/vendor.mjs OUT_DIR
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

const BUNDLES = [
  {
    name: 'zod',
    entry: "export * from 'zod'; export { default } from 'zod';",
    plugins: [
      {
        // zod's `locales` namespace re-exports ~60 languages; only English is used (configured
        // by zod's classic API itself, whose messages the API answers in `details`).
        name: 'zod-english-only',
        setup(onBuild) {
          onBuild.onResolve({ filter: /\/locales\/index\.js$/ }, (args) => ({ path: join(args.resolveDir, '../locales/en.js') }));
        },
      },
    ],
  },
];

const outDir = process.argv[2];
if (!outDir) throw new Error('usage: vendor.mjs OUT_DIR');
mkdirSync(outDir, { recursive: true });
const manifest = {};
for (const bundle of BUNDLES) {
  const outfile = join(outDir, `${bundle.name}.js`);
  const result = await build({
    stdin: { contents: bundle.entry, resolveDir: ROOT, loader: 'js' },
    bundle: true,
    minify: true,
    charset: 'ascii',
    format: 'esm',
    platform: 'node',
    target: 'node20',
    legalComments: 'none',
    logLevel: 'warning',
    metafile: true,
    plugins: bundle.plugins ?? [],
    outfile,
  });
  const packages = [...new Set(Object.keys(result.metafile.inputs).map((path) => /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(path)?.[1]).filter(Boolean))].sort();
  manifest[bundle.name] = { file: `${bundle.name}.js`, packages };
}
writeFileSync(join(outDir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
const summary = BUNDLES.map((bundle) => `${bundle.name} (${manifest[bundle.name].packages.length} packages)`).join(', ');
console.log(`vendor: ${summary} -> ${relative(ROOT, outDir)}`);
