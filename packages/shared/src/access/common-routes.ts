import type { RouteRule } from './route-table';

/** Rows every service's table starts with: probes (`/health`, `/metrics`) and the audit log. */
export const PROBE_ROUTES: readonly RouteRule[] = [
  { method: 'GET', path: '/health', permission: 'public', surface: 'probe' },
  { method: 'GET', path: '/metrics', permission: 'public', surface: 'probe' },
  { method: 'GET', path: '/stats', permission: 'public', surface: 'probe' },
];

/** `GET /audit` and its JSON-lines export (services that mount `auditRoutes`). */
export const AUDIT_ROUTES: readonly RouteRule[] = [
  { method: 'GET', path: '/audit', permission: 'read', surface: 'api' },
  { method: 'GET', path: '/audit/export', permission: 'read', surface: 'api' },
];
