import { AUDIT_ROUTES, PROBE_ROUTES, type RouteTable } from '@event-infra/shared';
import { CONSOLE_ROUTES } from './console/console-routes';

/** Every route of the DLQ processor (port 8011) and the permission it needs. */
export const DLQ_ROUTE_TABLE: RouteTable = [
  ...PROBE_ROUTES,
  ...AUDIT_ROUTES,
  { method: 'GET', path: '/dlq', permission: 'read', surface: 'api' },
  { method: 'GET', path: '/dlq/alerts', permission: 'read', surface: 'api' },
  { method: 'GET', path: '/dlq/fingerprints', permission: 'read', surface: 'api' },
  { method: 'POST', path: '/dlq/redrive', permission: 'operate', surface: 'api', action: 'dlq.redrive' },
  { method: 'GET', path: '/dlq/tasks', permission: 'read', surface: 'api' },
  { method: 'GET', path: '/dlq/tasks/:id', permission: 'read', surface: 'api' },
  { method: 'DELETE', path: '/dlq/tasks/:id', permission: 'operate', surface: 'api', action: 'dlq.redrive-cancel' },
  { method: 'GET', path: '/dlq/:id', permission: 'read', surface: 'api' },
  { method: 'POST', path: '/dlq/retry', permission: 'operate', surface: 'api', action: 'dlq.redrive' },
  // With a body carrying `data` (edit-then-retry) the route asks for `administer` itself.
  { method: 'POST', path: '/dlq/:id/retry', permission: 'operate', surface: 'api', action: 'dlq.retry' },
  { method: 'DELETE', path: '/dlq/:id', permission: 'administer', surface: 'api', action: 'dlq.discard' },
  { method: 'GET', path: '/overview', permission: 'read', surface: 'api' },
  { method: 'GET', path: '/streams/groups', permission: 'read', surface: 'api' },
  { method: 'GET', path: '/streams/groups/:group/pending', permission: 'read', surface: 'api' },
  { method: 'POST', path: '/streams/groups/:group/pending/:entryId/dead-letter', permission: 'operate', surface: 'api', action: 'stream.dead-letter' },
  ...CONSOLE_ROUTES,
];
