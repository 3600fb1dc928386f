import type { Job } from 'bullmq';
import { DLQ_META_KEY, describeFailure, dlqRetryMetaSchema, type DeadLetterEntry, type DeadLetterSink, type DlqRetryMeta } from '@event-infra/shared';

/** Job options worth keeping in the DLQ entry, so a retry from the DLQ submits the same. */
const KEPT_OPTS = ['priority', 'timeoutMs', 'attempts', 'backoff'] as const;

/** Splits `data` into what the handler sees and the DLQ retry metadata (reserved key). */
export function splitDlqMeta(raw: unknown): { data: Record<string, unknown>; meta: DlqRetryMeta | undefined } {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return { data: (raw ?? {}) as Record<string, unknown>, meta: undefined };
  const record = raw as Record<string, unknown>;
  if (!(DLQ_META_KEY in record)) return { data: record, meta: undefined };
  const { [DLQ_META_KEY]: rawMeta, ...data } = record;
  const parsed = dlqRetryMetaSchema.safeParse(rawMeta);
  return { data, meta: parsed.success ? parsed.data : undefined };
}

/** Log line prefix that records when an attempt failed (read back for `firstFailedAt`). */
export const FAILED_ATTEMPT_LOG = 'failed attempt';

export interface DeadLetterInput {
  job: Job;
  queue: string;
  data: Record<string, unknown>;
  meta: DlqRetryMeta | undefined;
  error: Error;
  attempts: number;
  firstFailedAt: Date;
  lastFailedAt: Date;
}

/** The DLQ entry of a job that used its attempts or failed permanently (see the contracts). */
export function buildDeadLetterEntry(input: DeadLetterInput): DeadLetterEntry {
  const opts: Record<string, unknown> = {};
  const jobOpts = input.job.opts as Record<string, unknown>;
  for (const key of KEPT_OPTS) if (jobOpts[key] !== undefined) opts[key] = jobOpts[key];
  return {
    kind: 'job',
    origin: { kind: 'job', queue: input.queue, jobId: String(input.job.id), opts },
    name: input.job.name,
    data: input.data,
    error: describeFailure(input.error),
    attempts: input.attempts,
    firstFailedAt: input.firstFailedAt.toISOString(),
    lastFailedAt: input.lastFailedAt.toISOString(),
    dlqRetries: input.meta?.retries ?? 0,
    ...(input.meta ? { dlqEntryId: input.meta.entryId } : {}),
  };
}

/**
 * When the first failed attempt happened: read back from the job's log (one line per failed
 * attempt, written by the runner). Falls back to `fallback` (this failure).
 */
export async function firstFailureTime(
  job: Job,
  readLogs: (jobId: string) => Promise<string[]>,
  fallback: Date,
): Promise<Date> {
  if (job.attemptsMade === 0) return fallback;
  const logs = await readLogs(String(job.id));
  for (const line of logs) {
    if (!line.startsWith(FAILED_ATTEMPT_LOG)) continue;
    const at = / at (\d{4}-\d\d-\d\dT[\d:.]+Z)/.exec(line)?.[1];
    const time = at ? new Date(at) : undefined;
    if (time && !Number.isNaN(time.getTime())) return time;
  }
  return fallback;
}

export type { DeadLetterSink };
