/**
 * Stryker ignorer plugin `logging`: no mutants inside logger calls (`this.logger.info(...)`,
 * `log.warn(...)`, `logger.child(...)` and the like). Their arguments are messages and log
 * fields; a mutant there changes what a log line says, never what the stack does, and would
 * only cost a full test run each.
 */
import { declareValuePlugin, PluginKind } from '@stryker-mutator/api/plugin';

const LEVELS = new Set(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'child']);
const LOGGERS = /^(logger|log)$/i;

/** The name a callee's object ends in: `this.logger` → logger, `deps.logger` → logger, `log` → log. */
function objectName(node) {
  if (node.type === 'Identifier') return node.name;
  if (node.type === 'MemberExpression' && !node.computed && node.property.type === 'Identifier') return node.property.name;
  return undefined;
}

export const strykerPlugins = [
  declareValuePlugin(PluginKind.Ignore, 'logging', {
    shouldIgnore(path) {
      const node = path.node;
      if (node.type !== 'CallExpression' || node.callee.type !== 'MemberExpression') return undefined;
      const method = node.callee.property;
      if (method.type !== 'Identifier' || !LEVELS.has(method.name)) return undefined;
      const name = objectName(node.callee.object);
      return name !== undefined && LOGGERS.test(name) ? 'a logger call: changes log lines only' : undefined;
    },
  }),
];
