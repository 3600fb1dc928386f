import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { WORK_QUEUES, type EventPublisher } from '@event-infra/shared';
import { HandlerRegistry, type HandlerDefinition } from './handler-registry';
import { createHostGuard } from './host-guard';
import { demoFailHandler, demoSleepHandler, eventsPublishHandler, httpRequestHandler } from './handlers';

export interface RegistryDeps {
  publisher: EventPublisher;
  /** `HTTP_ALLOWED_HOSTS`. */
  allowedHosts: readonly string[];
  /** `HTTP_REQUEST_MAX_RESPONSE_BYTES`. Default 64 KiB. */
  maxResponseBytes?: number;
}

/** The built-in handlers, registered on all three work queues. */
export function createBuiltInRegistry(deps: RegistryDeps): HandlerRegistry {
  return new HandlerRegistry()
    .register(httpRequestHandler(createHostGuard(deps.allowedHosts), { maxResponseBytes: deps.maxResponseBytes ?? 64 * 1024 }))
    .register(eventsPublishHandler(deps.publisher))
    .register(demoSleepHandler)
    .register(demoFailHandler);
}

function isDefinition(value: unknown): value is HandlerDefinition {
  const candidate = value as Partial<HandlerDefinition> | null;
  return (
    typeof candidate === 'object' &&
    candidate !== null &&
    typeof candidate.name === 'string' &&
    candidate.name !== '' &&
    typeof candidate.handler === 'function' &&
    (candidate.queues === undefined ||
      (Array.isArray(candidate.queues) && candidate.queues.every((queue) => (WORK_QUEUES as readonly string[]).includes(queue))))
  );
}

/**
 * Loads `JOB_HANDLERS_MODULE`: a module whose `handlers` export (or default export) is an
 * array of `{name, handler, queues?}`. Relative paths are resolved from `cwd`. Throws with a
 * clear message when the module or an entry is malformed: a bad module stops start-up.
 */
export async function loadCustomHandlers(modulePath: string, cwd = process.cwd()): Promise<HandlerDefinition[]> {
  const absolute = isAbsolute(modulePath) ? modulePath : resolve(cwd, modulePath);
  const loaded = (await import(pathToFileURL(absolute).href)) as { handlers?: unknown; default?: unknown };
  const list = loaded.handlers ?? loaded.default;
  if (!Array.isArray(list)) throw new Error(`JOB_HANDLERS_MODULE ${modulePath}: export "handlers" (or default) must be an array`);
  return list.map((entry, index) => {
    if (!isDefinition(entry)) {
      throw new Error(`JOB_HANDLERS_MODULE ${modulePath}: entry ${index} needs {name, handler, queues?} with known work queues`);
    }
    return entry;
  });
}
