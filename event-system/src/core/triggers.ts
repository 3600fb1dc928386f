import type { RedisClient } from '@event-infra/shared';
import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { JobsOptions } from 'bullmq';
import { z } from 'zod';
import {
  QUEUES,
  TRIGGER_JOB_ID_PREFIX,
  createLazyQueue,
  ValidationError,
  jobCauseId,
  toError,
  traceFromEvent,
  withJobTrace,
  withoutReservedKeys,
  type EventEnvelope,
  type TimelineRecorder,
} from '@event-infra/shared';
import type { EventHandler } from './router';

/** One trigger of the triggers file (README "Triggers file"). */
export const triggerSchema = z.object({
  /** Unique name, part of the job id: lowercase letters, digits and dashes. */
  name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,63}$/, 'lowercase letters, digits and dashes'),
  /** Event type pattern: `workspace.created`, `workspace.*`, `*`. */
  on: z.string().min(1),
  /** Job name in `event-driven-jobs` (a handler the queue processor registers). */
  job: z.string().min(1),
  /** Base of the job data: nothing, the event's `data`, or the whole envelope. Default `data`. */
  include: z.enum(['none', 'data', 'event']).default('data'),
  /** Job data field → dotted path in the envelope (`data.workspaceId`, `id`, `subject`). */
  map: z.record(z.string(), z.string().min(1)).default({}),
  /** Constant job data fields (applied last). */
  data: z.record(z.string(), z.unknown()).default({}),
  /** BullMQ job options (attempts, backoff, priority, delay, …); `jobId` is always derived. */
  opts: z.record(z.string(), z.unknown()).default({}),
});
export type Trigger = z.output<typeof triggerSchema>;

export const triggersFileSchema = z.object({ triggers: z.array(triggerSchema) }).superRefine((file, ctx) => {
  const names = new Set<string>();
  for (const trigger of file.triggers) {
    if (names.has(trigger.name)) ctx.addIssue({ code: 'custom', message: `duplicate trigger name "${trigger.name}"` });
    names.add(trigger.name);
  }
});

/** The project root (three levels above this file: event-system/src/core). */
const PROJECT_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** A relative path from the working directory when it exists there, else from the project root. */
export function resolveTriggersPath(path: string): string {
  if (isAbsolute(path) || existsSync(path)) return path;
  const fromRoot = resolve(PROJECT_ROOT, path);
  return existsSync(fromRoot) ? fromRoot : path;
}

/** Reads and validates a triggers file; throws a `ValidationError` naming the file and the problem. */
export function loadTriggersFile(path: string): Trigger[] {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(resolveTriggersPath(path), 'utf8'));
  } catch (caught) {
    throw new ValidationError(`triggers file ${path}: ${toError(caught).message}`);
  }
  const parsed = triggersFileSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ValidationError(`triggers file ${path}: ${issue.path.join('.') || '(root)'}: ${issue.message}`, parsed.error.issues);
  }
  return parsed.data.triggers;
}

/** `evt-<trigger>-<eventId>`: one job per trigger and event, however often it is delivered. */
export function triggerJobId(trigger: Trigger, event: EventEnvelope): string {
  return `${TRIGGER_JOB_ID_PREFIX}-${trigger.name}-${event.id}`.replaceAll(':', '_');
}

function pathValue(source: unknown, path: string): unknown {
  let value = source;
  for (const part of path.split('.')) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

/** The job data a trigger builds from an event; reserved `__…` keys of the event never reach it. */
export function triggerJobData(trigger: Trigger, event: EventEnvelope): Record<string, unknown> {
  const base = trigger.include === 'event' ? { ...event } : trigger.include === 'data' ? { ...event.data } : {};
  const mapped = Object.fromEntries(
    Object.entries(trigger.map)
      .map(([field, path]) => [field, pathValue(event, path)] as const)
      .filter(([, value]) => value !== undefined),
  );
  return withoutReservedKeys({ ...base, ...mapped, ...trigger.data });
}

export interface TriggerHandler {
  /** The handler to subscribe to `trigger.on`. */
  handlerFor(trigger: Trigger): EventHandler;
  close(): Promise<void>;
}

/**
 * Adds trigger jobs to `event-driven-jobs` on the queue Redis. The job id is derived from the
 * event id, and BullMQ does not add a job whose id exists: a redelivered event never creates
 * a second job.
 */
export function createTriggerHandler(connection: RedisClient, timeline?: TimelineRecorder): TriggerHandler {
  // Created with the first trigger job: a processor whose triggers never fire does not load bullmq.
  const queue = createLazyQueue(QUEUES.eventDriven, connection);
  return {
    handlerFor: (trigger) => async (event, context) => {
      // A replay makes its own job (once per task and event), beside the live delivery's.
      const jobId = context?.replay === undefined ? triggerJobId(trigger, event) : `${triggerJobId(trigger, event)}-replay-${context.replay.taskId}`;
      const opts: JobsOptions = { ...(trigger.opts as JobsOptions), jobId };
      const trace = traceFromEvent(event, context?.traceparent ?? event.traceparent);
      // The stack's own `__trace` (cause: the event; correlation: the event's) is added last.
      const job = await queue.add(trigger.job, withJobTrace(triggerJobData(trigger, event), trace), opts);
      if (timeline !== undefined) {
        // A redelivered event records this step again (the add itself is a no-op then). At the
        // job's own timestamp (taken before the add): its worker may start and fail it first.
        timeline.record(
          trace.correlationId,
          { kind: 'job.created', subject: jobCauseId(QUEUES.eventDriven, jobId), cause: event.id, detail: { name: trigger.job, trigger: trigger.name }, atMs: job.timestamp },
          { job: `${QUEUES.eventDriven}:${jobId}` },
        );
      }
    },
    close: () => queue.close(),
  };
}
