// After `tsc -b tsconfig.build.json`: Node's ESM loader needs full relative specifiers, and the
// sources import extensionless ('./config', '../logger' for a directory's index.ts) because they
// resolve like a bundler. This rewrites each relative specifier of the emitted dist/**/*.js to the
// file tsc wrote ('./config.js', '../logger/index.js'); a specifier matching no emitted file fails
// the build. Usage: node scripts/build/fix-dist-imports.mjs DIST_DIR...
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

const SPECIFIER = /(\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)(['"])(\.{1,2}\/[^'"]*)\2/g;

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

const dirs = process.argv.slice(2);
if (dirs.length === 0) throw new Error('usage: fix-dist-imports.mjs DIST_DIR...');
let rewritten = 0;
for (const dir of dirs) {
  for (const file of jsFiles(dir)) {
    const source = readFileSync(file, 'utf8');
    const output = source.replace(SPECIFIER, (_match, lead, quote, specifier) => {
      rewritten += 1;
      return `${lead}${quote}${fullSpecifier(file, specifier)}${quote}`;
    });
    if (output !== source) writeFileSync(file, output);
  }
}
console.log(`fix-dist-imports: ${rewritten} relative imports in ${dirs.join(' ')}`);
