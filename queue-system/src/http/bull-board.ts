import type { Queue } from 'bullmq';
import { Router, type RequestHandler } from 'express';
import { z } from 'zod';
import { AppError, jsonBody } from '@event-infra/shared';
import { parseBody } from './parse-body';
import type { JobBodySchemas } from './schemas';

/** Base path of Bull Board. */
export const BULL_BOARD_PATH = '/admin/queues';

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
 * The Bull Board router over `options.queues` (mount it at `BULL_BOARD_PATH`, behind basic auth).
 * The guard is in place at once; the board itself (`./bull-board-ui`) is imported and built on
 * the first request that reaches it, once per process. A failed load answers that request
 * with the error and is tried again on the next one.
 */
export function bullBoardRouter(options: BullBoardOptions): Router {
  let board: Promise<Router> | undefined;
  const loadBoard = (): Promise<Router> =>
    (board ??= import('./bull-board-ui').then(
      ({ boardUiRouter }) => boardUiRouter({ queues: options.queues, basePath: BULL_BOARD_PATH, readOnly: options.readOnly, deadLetterQueue: options.deadLetterQueue }),
      (caught: unknown) => {
        board = undefined;
        throw caught;
      },
    ));
  const lazyBoard: RequestHandler = (req, res, next) => {
    loadBoard().then((router) => router(req, res, next), next);
  };
  const router = Router();
  router.use(boardGuard(options));
  router.use(lazyBoard);
  return router;
}
