import { createRequire, Module } from 'node:module';
import { dirname } from 'node:path';
const require = createRequire(import.meta.url);
for (const spec of (process.env.STUBS ?? '').split(',').filter(Boolean)) {
  const [id, user] = spec.split('@@');
  const path = require.resolve(id, { paths: [dirname(require.resolve(user))] });
  const m = new Module(path); m.filename = path; m.loaded = true; m.exports = function stub() {}; require.cache[path] = m;
}
