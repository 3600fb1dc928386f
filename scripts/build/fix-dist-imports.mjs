// After `tsc -b tsconfig.build.json`: Node's ESM loader needs full relative specifiers, and the
// sources import extensionless ('./config', '../logger' for a directory's index.ts) because they
// resolve like a bundler. This rewrites each relative specifier of the emitted dist/**/*.js to the
// file tsc wrote ('./config.js', '../logger/index.js'); a specifier matching no emitted file fails
// the build. With `--vendor DIR` (the bundles of scripts/build/vendor.mjs and their
// manifest.json), each import of a bundled package (today 'zod'; not a subpath) becomes a
// relative import of its bundle (the bundles themselves are left as they are), and a compiled
// tree that imports none of them fails the build.
// Usage: node scripts/build/fix-dist-imports.mjs [--vendor DIR] DIST_DIR...
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const SPECIFIER = /(\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)(['"])(\.{1,2}\/[^'"]*)\2/g;
const BARE = /(\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)(['"])([^'".][^'"]*)\2/g;

function jsFiles(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return jsFiles(path);
    return entry.name.endsWith('.js') ? [path] : [];
  });
}

function fullSpecifier(file, specifier) {
  if (/\.(m?js|json)$/.test(specifier)) return specifier;
  const target = resolve(dirname(file), specifier);
  if (existsSync(`${target}.js`)) return `${specifier}.js`;
  if (existsSync(target) && statSync(target).isDirectory() && existsSync(join(target, 'index.js'))) {
    return `${specifier.replace(/\/$/, '')}/index.js`;
  }
  throw new Error(`${file}: import '${specifier}' matches no emitted file`);
}

const args = process.argv.slice(2);
const vendorAt = args.indexOf('--vendor');
const vendorDir = vendorAt === -1 ? undefined : resolve(args.splice(vendorAt, 2)[1] ?? '');
const dirs = args.map((dir) => resolve(dir));
if (dirs.length === 0) throw new Error('usage: fix-dist-imports.mjs [--vendor DIR] DIST_DIR...');
/** Package name -> absolute path of its bundle. */
const bundles = new Map(
  vendorDir === undefined
    ? []
    : Object.entries(JSON.parse(readFileSync(join(vendorDir, 'manifest.json'), 'utf8'))).map(([name, { file }]) => [name, join(vendorDir, file)]),
);

function vendorSpecifier(file, name) {
  const path = relative(dirname(file), bundles.get(name));
  return path.startsWith('.') ? path : `./${path}`;
}

/** Whether `text`, a compiled file of `file`, imports a bundle (rewritten by this run or an earlier one). */
function importsABundle(file, text) {
  return [...bundles.keys()].some((name) => text.includes(`'${vendorSpecifier(file, name)}'`) || text.includes(`"${vendorSpecifier(file, name)}"`));
}

let rewritten = 0;
let vendored = 0;
// tsc -b does not re-emit unchanged files, which an earlier build already rewrote: the files
// that import a bundle are counted on the text as it ends up, whichever run rewrote them.
let importers = 0;
for (const dir of dirs) {
  for (const file of jsFiles(dir)) {
    if (vendorDir !== undefined && file.startsWith(`${vendorDir}/`)) continue;
    const source = readFileSync(file, 'utf8');
    let output = source.replace(SPECIFIER, (_match, lead, quote, specifier) => {
      rewritten += 1;
      return `${lead}${quote}${fullSpecifier(file, specifier)}${quote}`;
    });
    if (bundles.size > 0) {
      output = output.replace(BARE, (match, lead, quote, specifier) => {
        if (!bundles.has(specifier)) return match;
        vendored += 1;
        return `${lead}${quote}${vendorSpecifier(file, specifier)}${quote}`;
      });
    }
    if (output !== source) writeFileSync(file, output);
    if (bundles.size > 0 && importsABundle(file, output)) importers += 1;
  }
}
if (vendorDir !== undefined) {
  if (importers === 0) throw new Error(`fix-dist-imports: no compiled file imports a bundle of ${relative(process.cwd(), vendorDir)}`);
  console.log(`fix-dist-imports: ${rewritten} relative imports, ${vendored} imports of ${[...bundles.keys()].join('/')} pointed at ${relative(process.cwd(), vendorDir)} (${importers} files import a bundle), in ${args.join(' ')}`);
} else {
  console.log(`fix-dist-imports: ${rewritten} relative imports in ${args.join(' ')}`);
}
