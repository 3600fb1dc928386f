/**
 * A CommonJS dependency of a dependency, loaded on first use instead of at start (issue 12,
 * memory; docs/benchmarks/memory.md, "Module footprint"). Some libraries require a module at load that they only
 * use in a feature this project does not use: BullMQ's job-scheduler file (required by its
 * `Queue` and `Worker`) requires `cron-parser`, with luxon ~1 MB of live heap, for cron
 * patterns of job schedulers; prom-client's default process-CPU metric requires
 * `@opentelemetry/api` (44 files) for exemplars. `deferRequire` puts a stand-in for the module
 * into `require.cache` (a documented way to supply a module: "adding or replacing entries is
 * also possible") whose properties load the real module on first access: the library keeps
 * its reference and reaches the real exports through it, and the first `require` or `import`
 * after that gets the real module (the stand-in leaves the cache when it loads it).
 * Nothing happens when the module is already loaded. Only for modules whose exports are read
 * at use, not at load (both are checked by tests: test/module-footprint.test.ts that the
 * services load neither at start, packages/shared/test/bullmq-classes.test.ts and
 * packages/shared/test/tracing.test.ts that a cron scheduler and tracing still work).
 */
import { createRequire, Module } from 'node:module';
import { dirname } from 'node:path';

const require = createRequire(import.meta.url);

/**
 * Defers `id` as `user` (a package name) resolves it; returns the path of the module's entry
 * file, the `require.cache` key of the stand-in.
 */
export function deferRequire(id: string, user: string): string {
  const path = require.resolve(id, { paths: [dirname(require.resolve(user))] });
  if (require.cache[path] !== undefined) return path;
  let real: object | undefined;
  const loaded = (): object => {
    if (real === undefined) {
      delete require.cache[path];
      real = require(path) as object;
    }
    return real;
  };
  const standIn = new Module(path);
  standIn.filename = path;
  standIn.loaded = true;
  standIn.exports = new Proxy({}, {
    get: (_target, key) => Reflect.get(loaded(), key),
    has: (_target, key) => Reflect.has(loaded(), key),
    ownKeys: () => Reflect.ownKeys(loaded()),
    // Configurable, as the empty target has none of these properties (a Proxy invariant).
    getOwnPropertyDescriptor: (_target, key) => {
      const descriptor = Reflect.getOwnPropertyDescriptor(loaded(), key);
      return descriptor === undefined ? undefined : { value: Reflect.get(loaded(), key), writable: false, enumerable: descriptor.enumerable ?? true, configurable: true };
    },
  });
  require.cache[path] = standIn;
  return path;
}

