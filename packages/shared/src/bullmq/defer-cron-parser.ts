/**
 * BullMQ's job-scheduler file (required by its `Queue` and `Worker` files) requires
 * `cron-parser` at load, which requires luxon: about 1 MB of live heap (issue 12, memory,
 * README "Module footprint") in every process that has a queue, for cron patterns of job
 * schedulers, which this project does not create (the API takes no `repeat` option). This
 * puts a stand-in for `cron-parser` into `require.cache` (a documented way to supply a
 * module: "adding or replacing entries is also possible") whose properties load the real
 * module on first access; BullMQ only reads `CronExpressionParser` when it computes a cron
 * pattern's next run, so a scheduler still works, it loads the parser then. Nothing happens
 * when `cron-parser` is already loaded. test/module-footprint.test.ts checks that the queue and
 * DLQ processors load neither the parser nor luxon at start; packages/shared/test/bullmq-classes.test.ts
 * that a cron job scheduler still works through the stand-in (and loads them then).
 */
import { createRequire, Module } from 'node:module';
import { dirname } from 'node:path';

/** Installs the stand-in, resolved from BullMQ's own location; returns the module's path. */
export function deferCronParser(requireFrom: NodeJS.Require): string {
  const path = requireFrom.resolve('cron-parser', { paths: [dirname(requireFrom.resolve('bullmq'))] });
  if (requireFrom.cache[path] !== undefined) return path;
  const load = createRequire(path);
  let real: object | undefined;
  const loaded = (): object => {
    if (real === undefined) {
      // The stand-in leaves the cache, so this require loads (and caches) the real module.
      delete requireFrom.cache[path];
      real = load(path) as object;
    }
    return real;
  };
  const standIn = new Module(path);
  standIn.filename = path;
  standIn.loaded = true;
  standIn.exports = new Proxy({}, {
    get: (_target, key) => Reflect.get(loaded(), key),
    has: (_target, key) => Reflect.has(loaded(), key),
  });
  requireFrom.cache[path] = standIn;
  return path;
}
