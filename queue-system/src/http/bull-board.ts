import type { Queue } from 'bullmq';
import { Router, type Request, type RequestHandler } from 'express';
import { z } from 'zod';
import { AppError, jsonBody, roleAllows, type AuditLog } from '@event-infra/shared';
import { boardAudit } from './board-audit';
import { BULL_BOARD_PATH } from './board-path';
import { parseBody } from './parse-body';
import type { BoardViews } from './board-views';
import type { JobBodySchemas } from './schemas';

export { BULL_BOARD_PATH } from './board-path';

export interface BullBoardOptions {
  /** All four queues. */
  queues: readonly Queue[];
  /** `DLQ_QUEUE_NAME`: read-only on the board whatever `readOnly` says. */
  deadLetterQueue: string;
  /** `ADMIN_READONLY` (default true): every write route of the board is refused. */
  readOnly: boolean;
  /** The job body schemas of the API: the board's add/update routes are checked with them. */
  schemas: JobBodySchemas;
  /** `JOB_MAX_DELAY_MS`: how far ahead the board may reschedule a delayed job. */
  maxDelayMs: number;
  /** `HTTP_BODY_LIMIT`. */
  bodyLimit: string;
  /** Where every board write is recorded before it runs. */
  audit: AuditLog;
  /** `CONSOLE_URL`: shown as the "Operator console" link in the board's header. */
  consoleUrl: string;
}

const READ_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
/** `/api/queues/:queueName/...` of Bull Board's own API. */
const QUEUE_ROUTE = /^\/api\/queues\/([^/]+)(\/.*)?$/;

const addBody = z.looseObject({ name: z.unknown(), data: z.unknown().optional(), options: z.unknown().optional() });
const updateDataBody = z.looseObject({ jobData: z.unknown() });
const priorityBody = z.strictObject({ priority: z.number().int().min(0).max(2_097_151) });
const concurrencyBody = z.strictObject({ concurrency: z.number().int().min(1).max(10_000) });
const rateLimitBody = z.strictObject({ max: z.number().int().min(1).max(1_000_000), duration: z.number().int().min(1).max(86_400_000) });

/**
 * The server-side guard in front of Bull Board's API: with `readOnly` every write is a 403;
 * writes naming the DLQ queue are always a 403; otherwise the bodies of add, update-data,
 * delay and priority go through the API's job schema and bounds (a 400 names the option),
 * concurrency and rate limit are bounded, and job schedulers cannot be changed.
 * Bull Board's own read-only mode is set too, so the UI hides the buttons, but the guard is
 * what holds.
 */
function boardGuard(options: BullBoardOptions): RequestHandler[] {
  const body = jsonBody(options.bodyLimit);
  const delayBody = z.strictObject({
    runAt: z
      .number()
      .int()
      .refine((runAt) => runAt - Date.now() <= options.maxDelayMs, `runAt must be at most ${options.maxDelayMs} ms ahead (JOB_MAX_DELAY_MS)`),
  });
  const refuse: RequestHandler = (req, _res, next) => {
    if (READ_METHODS.has(req.method) || !req.path.startsWith('/api/')) return next();
    if (options.readOnly) return next(new AppError('forbidden_queue', 'Bull Board is read-only (ADMIN_READONLY=true)'));
    const match = QUEUE_ROUTE.exec(req.path);
    let queueName: string | undefined;
    try {
      queueName = match?.[1] === undefined ? undefined : decodeURIComponent(match[1]);
    } catch {
      // A malformed escape names no queue we know: the board answers 404 itself.
      queueName = undefined;
    }
    if (queueName === options.deadLetterQueue) {
      return next(new AppError('forbidden_queue', `${queueName} is read-only on Bull Board; use the DLQ processor API`));
    }
    next();
  };
  const validate: RequestHandler = (req, _res, next) => {
    if (READ_METHODS.has(req.method)) return next();
    const rest = QUEUE_ROUTE.exec(req.path)?.[2] ?? '';
    try {
      if (rest === '/add') {
        const given = parseBody(addBody, req.body ?? {}, 'job');
        const job = parseBody(options.schemas.submission, { name: given.name, data: given.data ?? {}, ...(given.options === undefined ? {} : { opts: given.options }) }, 'job');
        req.body = { name: job.name, data: job.data, options: job.opts ?? {} };
      } else if (/^\/[^/]+\/update-data$/.test(rest)) {
        const given = parseBody(updateDataBody, req.body ?? {}, 'job data');
        const job = parseBody(options.schemas.submission, { name: 'update-data', data: given.jobData }, 'job data');
        req.body = { jobData: job.data };
      } else if (/^\/[^/]+\/delay$/.test(rest)) {
        parseBody(delayBody, req.body ?? {}, 'delay');
      } else if (/^\/[^/]+\/priority$/.test(rest)) {
        parseBody(priorityBody, req.body ?? {}, 'priority');
      } else if (rest === '/concurrency') {
        parseBody(concurrencyBody, req.body ?? {}, 'concurrency');
      } else if (rest === '/rate-limit') {
        parseBody(rateLimitBody, req.body ?? {}, 'rate limit');
      } else if (rest.startsWith('/job-schedulers/')) {
        // Repeatable jobs are not part of the job API (no `repeat` option): not on the board either.
        throw new AppError('forbidden_queue', 'job schedulers cannot be changed on Bull Board');
      }
      next();
    } catch (caught) {
      next(caught);
    }
  };
  return [refuse, ...body, validate];
}

/**
 * The boards themselves (`@bull-board/*` with its view engine and static routes: ~3 MB of RSS
 * to import, more to build the two) are imported and built on the first request under the
 * path, not at start: most processors never serve the board (issue 12, memory). Concurrent first requests share one
 * load; a failed load answers 500 and the next request tries again.
 */
function lazyBoards(options: BullBoardOptions, mount: (boards: BoardViews) => void): RequestHandler {
  let loading: Promise<void> | undefined;
  return (_req, _res, next) => {
    loading ??= import('./board-views').then(
      ({ createBoardViews }) => mount(createBoardViews(options)),
      (caught: unknown) => {
        loading = undefined;
        throw caught;
      },
    );
    loading.then(() => next(), next);
  };
}

/**
 * The Bull Board router over `options.queues` (mount it at `BULL_BOARD_PATH`, behind the
 * access check). Two boards share the path: a read-only one (no action buttons) for
 * principals without `operate`, or for everyone while `ADMIN_READONLY` is on, and a writable
 * one for operators and admins; the access check and the guard decide at the server anyway.
 * The boards join the router on the first request (see `lazyBoards`); the guard and the audit
 * are in front of them from the start.
 */
export function bullBoardRouter(options: BullBoardOptions): Router {
  const router = Router();
  router.use(boardGuard(options));
  router.use(boardAudit(options.audit, options.queues));
  const isWritable = (req: Request): boolean => !options.readOnly && req.principal !== undefined && roleAllows(req.principal.role, 'operate');
  // Each board in its own router behind a gate (`next('router')` passes to the other), so both
  // stay in the router stack where the route-table test walks them (after a first request).
  const writable = Router();
  writable.use((req, _res, next) => next(isWritable(req) ? undefined : 'router'));
  const readOnly = Router();
  router.use(
    lazyBoards(options, (boards) => {
      if (boards.writable !== undefined) writable.use(boards.writable);
      readOnly.use(boards.readOnly);
    }),
  );
  if (!options.readOnly) router.use(writable);
  router.use(readOnly);
  return router;
}
