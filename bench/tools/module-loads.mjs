/**
 * Module-load hook for the footprint probe (issue 12): `node --import ./bench/tools/module-loads.mjs`
 * records every ES module URL the loader loads; the process's CommonJS files are in
 * `require.cache`. `globalThis.__moduleLoads()` returns both, as paths, once the entry is imported.
 */
import { register, createRequire } from 'node:module';
import { MessageChannel } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';

const esm = new Set();
const { port1, port2 } = new MessageChannel();
port1.on('message', (url) => esm.add(url));
port1.unref();
register('data:text/javascript,' + encodeURIComponent(
  'let port; export function initialize(data) { port = data.port; }' +
  ' export async function load(url, context, next) { if (url.startsWith("file:")) port.postMessage(url); return next(url, context); }',
), import.meta.url, { data: { port: port2 }, transferList: [port2] });

globalThis.__moduleLoads = async () => {
  // Messages from the loader thread arrive asynchronously: let them drain.
  await new Promise((resolve) => setTimeout(resolve, 200));
  const cjs = Object.keys(createRequire(import.meta.url).cache);
  return [...new Set([...[...esm].map((url) => fileURLToPath(url)), ...cjs])];
};
