import type { z } from 'zod';
import { airtableEvents } from './families/airtable';
import { authEvents } from './families/auth';
import { jobEvents } from './families/job';
import { userEvents } from './families/user';
import { workspaceEvents } from './families/workspace';

/** Every known event type and the schema of its `data`. */
export const EVENT_SCHEMAS = {
  ...userEvents,
  ...workspaceEvents,
  ...authEvents,
  ...airtableEvents,
  ...jobEvents,
} as const;

export type EventType = keyof typeof EVENT_SCHEMAS;
export type EventData<T extends EventType> = z.output<(typeof EVENT_SCHEMAS)[T]>;

export const EVENT_FAMILIES = ['user', 'workspace', 'auth', 'airtable', 'job'] as const;
export type EventFamily = (typeof EVENT_FAMILIES)[number];

/** Event type names, as constants to import rather than retype. */
export const EVENT_TYPES = Object.freeze(
  Object.fromEntries(Object.keys(EVENT_SCHEMAS).map((type) => [type, type])) as { [T in EventType]: T },
);

export function familyOf(type: string): string {
  const dot = type.indexOf('.');
  return dot < 0 ? type : type.slice(0, dot);
}

export function isKnownEventType(type: string): type is EventType {
  return Object.prototype.hasOwnProperty.call(EVENT_SCHEMAS, type);
}
