// After `tsc -b tsconfig.build.json`: tsc emits only JavaScript, but some modules read files
// that sit beside them at run time (Lua scripts under `src/**/lua/`). This copies every such
// asset from each workspace's src/ to the same place under its dist/ (and every file under a
// `static/` directory: the operator console's pages). Usage:
// node scripts/build/copy-assets.mjs WORKSPACE_DIR...
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';

const ASSET = /\.lua$/;

function assets(dir, underStatic = false) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return assets(path, underStatic || entry.name === 'static');
    return underStatic || ASSET.test(entry.name) ? [path] : [];
  });
}

const workspaces = process.argv.slice(2);
if (workspaces.length === 0) throw new Error('usage: copy-assets.mjs WORKSPACE_DIR...');
let copied = 0;
for (const workspace of workspaces) {
  const src = join(workspace, 'src');
  for (const file of assets(src)) {
    const target = join(workspace, 'dist', relative(src, file));
    mkdirSync(dirname(target), { recursive: true });
    copyFileSync(file, target);
    copied += 1;
  }
}
process.stdout.write(`copy-assets: ${copied} file(s)\n`);
