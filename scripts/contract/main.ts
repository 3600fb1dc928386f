/**
 * `npm run contract`: writes contract/*.json (and the Python client's copy) from the zod source.
 * `npm run contract -- --check`: writes nothing; exit 1 naming each file that differs or is
 * missing (CI runs it), so a schema change cannot land without its contract files.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { buildContract, CONTRACT_DIRS, renderContractFile, ROOT } from './build-contract';

const check = process.argv.includes('--check');
const stale: string[] = [];
for (const dir of CONTRACT_DIRS) {
  for (const [file, content] of buildContract()) {
    const path = join(dir, file);
    const text = renderContractFile(content);
    const current = existsSync(path) ? readFileSync(path, 'utf8') : undefined;
    if (current === text) continue;
    if (check) {
      stale.push(relative(ROOT, path));
    } else {
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, text);
      process.stdout.write(`contract: wrote ${relative(ROOT, path)}\n`);
    }
  }
}
if (stale.length > 0) {
  process.stderr.write(`contract: out of date with the zod source (run npm run contract): ${stale.join(', ')}\n`);
  process.exit(1);
}
if (check) process.stdout.write('contract: every file matches the zod source\n');
