import { randomUUID } from 'node:crypto';
import { SPEC_VERSION, type EventEnvelope, type EventInput } from './envelope';
import { validateEvent } from './validate';

/** Completes an input with `id`, `time`, `specversion` and `source`, then validates it. */
export function createEvent(input: EventInput, defaultSource: string): EventEnvelope {
  return validateEvent({
    ...input,
    id: input.id ?? randomUUID(),
    time: input.time ?? new Date().toISOString(),
    specversion: input.specversion ?? SPEC_VERSION,
    source: input.source ?? defaultSource,
  });
}
