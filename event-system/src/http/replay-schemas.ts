import { z } from 'zod';
import type { ReplayRequest } from '../core/replay/replay-planner';

const STREAM_ID = /^\d{1,20}(-\d{1,20})?$/;
/** A consumer group name a replay may create: no spaces or control characters, bounded. */
const GROUP_NAME = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
/** A type pattern: `*`, `family.*`, or a dotted lowercase type. */
const TYPE_PATTERN = /^(\*|[a-z0-9-]+(\.[a-z0-9-]+)*(\.\*)?)$/;

/** A point of the log: a stream id (`1700000000000-0`, or `1700000000000` for its first) or an ISO 8601 time. */
const point = z
  .string()
  .max(64)
  .transform((value, ctx) => {
    if (STREAM_ID.test(value)) return { id: value.includes('-') ? value : `${value}-0` };
    const timeMs = Date.parse(value);
    if (/^\d{4}-\d{2}-\d{2}T/.test(value) && Number.isFinite(timeMs)) return { timeMs };
    ctx.addIssue({ code: 'custom', message: 'must be a stream id (<ms>-<seq>) or an ISO 8601 time' });
    return z.NEVER;
  });

/**
 * `POST /replay` body. `ratePerSec` is bounded by `REPLAY_MAX_RATE`; `to`, `types` and
 * `ratePerSec` apply to a handlers target only.
 */
export function replayBodySchema(maxRatePerSec: number) {
  return z
    .strictObject({
      from: point,
      to: point.optional(),
      types: z.string().max(256).regex(TYPE_PATTERN, 'must be *, <family>.* or an event type').default('*'),
      ratePerSec: z.number().int().min(1).max(maxRatePerSec).default(Math.min(1000, maxRatePerSec)),
      target: z.enum(['handlers', 'group']),
      group: z.string().regex(GROUP_NAME, 'must be 1-128 characters of A-Z a-z 0-9 . _ : -, starting with a letter or digit').optional(),
    })
    .superRefine((body, ctx) => {
      if (body.target === 'group' && body.group === undefined) ctx.addIssue({ code: 'custom', path: ['group'], message: 'is required for a group target' });
      if (body.target === 'handlers' && body.group !== undefined) ctx.addIssue({ code: 'custom', path: ['group'], message: 'is only for a group target' });
      if (body.target === 'group' && body.to !== undefined) ctx.addIssue({ code: 'custom', path: ['to'], message: 'a new group reads on from its start: no end' });
    })
    .transform(
      (body): ReplayRequest => ({
        from: body.from,
        ...(body.to !== undefined ? { to: body.to } : {}),
        types: body.types,
        ratePerSec: body.ratePerSec,
        target: body.target === 'group' ? { kind: 'group', group: body.group! } : { kind: 'handlers' },
      }),
    );
}

export const replayIdSchema = z.uuid();

export const replayListQuerySchema = z.strictObject({ limit: z.coerce.number().int().min(1).max(100).default(20) });
