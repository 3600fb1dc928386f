import { AUDIT_ROUTES, PROBE_ROUTES, type Permission, type RouteRule, type RouteTable } from '@event-infra/shared';
import { BULL_BOARD_PATH } from './board-path';

const board = (method: RouteRule['method'], path: string, permission: Permission, action?: string): RouteRule => ({
  method,
  path: `${BULL_BOARD_PATH}${path === '/' ? '' : path}`,
  permission,
  surface: 'board',
  ...(action !== undefined ? { action } : {}),
});

/**
 * Bull Board's own routes (`@bull-board/api` `appRoutes`, `@bull-board/express`), each with
 * the permission it needs. A new board version with a route not listed here fails the
 * route-table test, so it cannot slip in unguarded.
 */
const BOARD_ROUTES: RouteRule[] = [
  ...['/', '/metrics-history', '/job-schedulers', '/queue/:queueName', '/queue/:queueName/:jobId'].map((path) => board('GET', path, 'read')),
  board('USE', '/static', 'read'),
  ...[
    '/api/redis/stats',
    '/api/queues',
    '/api/job-schedulers',
    '/api/metrics/history',
    '/api/metrics/history/usage',
    '/api/metrics/latency',
    '/api/queues/:queueName/metrics',
    '/api/queues/:queueName/default-job-options',
    '/api/queues/:queueName/workers',
    '/api/queues/:queueName/rate-limit',
    '/api/queues/:queueName/job-data-schema',
    '/api/queues/:queueName/:jobId/logs',
    '/api/queues/:queueName/:jobId/flow',
    '/api/queues/:queueName/:jobId',
  ].map((path) => board('GET', path, 'read')),
  board('PUT', '/api/queues/pause', 'operate', 'board.pause-all'),
  board('PUT', '/api/queues/resume', 'operate', 'board.resume-all'),
  board('PUT', '/api/queues/:queueName/pause', 'operate', 'board.pause'),
  board('PUT', '/api/queues/:queueName/resume', 'operate', 'board.resume'),
  board('PUT', '/api/queues/:queueName/retry/:queueStatus', 'operate', 'board.retry-all'),
  board('PUT', '/api/queues/:queueName/promote', 'operate', 'board.promote-all'),
  board('PUT', '/api/queues/:queueName/:jobId/retry', 'operate', 'board.retry'),
  board('PUT', '/api/queues/:queueName/:jobId/promote', 'operate', 'board.promote'),
  board('POST', '/api/queues/:queueName/add', 'administer', 'board.add'),
  board('PUT', '/api/queues/:queueName/clean/:queueStatus', 'administer', 'board.clean'),
  board('PUT', '/api/queues/:queueName/empty', 'administer', 'board.empty'),
  board('PUT', '/api/queues/:queueName/obliterate', 'administer', 'board.obliterate'),
  board('PUT', '/api/queues/:queueName/concurrency', 'administer', 'board.concurrency'),
  board('PUT', '/api/queues/:queueName/rate-limit', 'administer', 'board.rate-limit'),
  board('PUT', '/api/queues/:queueName/rate-limit/release', 'administer', 'board.rate-limit-release'),
  board('PUT', '/api/queues/:queueName/job-schedulers/:schedulerId/remove', 'administer', 'board.scheduler-remove'),
  board('PATCH', '/api/queues/:queueName/job-schedulers/:schedulerId', 'administer', 'board.scheduler-update'),
  board('PUT', '/api/queues/:queueName/job-schedulers/:schedulerId/run', 'administer', 'board.scheduler-run'),
  board('PUT', '/api/queues/:queueName/:jobId/clean', 'administer', 'board.remove'),
  board('PATCH', '/api/queues/:queueName/:jobId/update-data', 'administer', 'board.update-data'),
  board('PATCH', '/api/queues/:queueName/:jobId/delay', 'administer', 'board.delay'),
  board('PATCH', '/api/queues/:queueName/:jobId/priority', 'administer', 'board.priority'),
  board('PUT', '/api/queues/:queueName/:jobId/remove-unprocessed-children', 'administer', 'board.remove-children'),
  board('POST', '/api/metrics/history/purge', 'administer', 'board.metrics-purge'),
];

/** Every route of the queue processor (port 8009) and the permission it needs. */
export const QUEUE_ROUTE_TABLE: RouteTable = [
  ...PROBE_ROUTES,
  ...AUDIT_ROUTES,
  { method: 'POST', path: '/jobs/:queue', permission: 'submit', surface: 'api', action: 'job.submit' },
  { method: 'POST', path: '/jobs/:queue/bulk', permission: 'submit', surface: 'api', action: 'job.submit-bulk' },
  { method: 'GET', path: '/jobs/:queue/:id', permission: 'readOwn', surface: 'api' },
  { method: 'DELETE', path: '/jobs/:queue/:id', permission: 'operate', surface: 'api', action: 'job.cancel' },
  { method: 'POST', path: '/events', permission: 'submit', surface: 'api', action: 'event.publish' },
  // Mounted only with TIMELINE_ENABLED (README "Correlation, causation and the timeline").
  { method: 'GET', path: '/timeline', permission: 'read', surface: 'api' },
  ...BOARD_ROUTES,
];
