import type { Queue } from 'bullmq';
import type { RequestHandler } from 'express';
import { auditAttempt, type AuditLog, type AuditTarget } from '@event-infra/shared';

/** Job states a bulk board action works on, for the count its audit record carries. */
const BULK_STATES: Record<string, (status: string | undefined) => string[]> = {
  'board.retry-all': (status) => [status ?? 'failed'],
  'board.promote-all': () => ['delayed'],
  'board.clean': (status) => [status ?? 'completed'],
  'board.empty': () => ['waiting', 'paused', 'delayed', 'prioritized'],
  'board.obliterate': () => ['waiting', 'paused', 'delayed', 'prioritized', 'active', 'completed', 'failed', 'waiting-children'],
};

/**
 * Audits every Bull Board write before the board runs it (the row's `action` in the route
 * table): an `attempted` record with the queue, the job or the status filter and, for bulk
 * actions, how many jobs the filter matched. If the record cannot be written the answer is
 * 503 and the board never sees the request.
 */
export function boardAudit(audit: AuditLog, queues: readonly Queue[]): RequestHandler {
  const byName = new Map(queues.map((queue) => [queue.name, queue]));
  return (req, _res, next) => {
    const action = req.access?.rule.action;
    if (action === undefined) return next();
    const params = req.access?.params ?? {};
    const detail: AuditTarget = {};
    if (params.queueName !== undefined) detail.queue = params.queueName;
    if (params.jobId !== undefined) detail.jobId = params.jobId;
    if (params.schedulerId !== undefined) detail.filter = { schedulerId: params.schedulerId };
    if (params.queueStatus !== undefined) detail.filter = { status: params.queueStatus };
    const run = async (): Promise<void> => {
      const states = BULK_STATES[action]?.(params.queueStatus);
      const queue = detail.queue === undefined ? undefined : byName.get(detail.queue);
      if (states !== undefined && queue !== undefined) {
        const counts = await queue.getJobCounts(...(states as Parameters<Queue['getJobCounts']>));
        detail.count = Object.values(counts).reduce((sum, value) => sum + value, 0);
      } else if (action === 'board.pause-all' || action === 'board.resume-all') {
        detail.count = queues.length;
      }
      await auditAttempt(req, audit, action, detail);
    };
    run().then(() => next(), next);
  };
}
