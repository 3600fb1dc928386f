import { PROBE_ROUTES, type RouteTable } from '@event-infra/shared';

/**
 * Every route of the event processor (port 8010) and the permission it needs (README "Roles
 * and audit log"). Replays re-run handlers or create consumer groups: starting or cancelling
 * one is an operator's action and is audited; reading them is a viewer's.
 */
export const EVENT_ROUTE_TABLE: RouteTable = [
  ...PROBE_ROUTES,
  { method: 'GET', path: '/replay', permission: 'read', surface: 'api' },
  { method: 'GET', path: '/replay/:id', permission: 'read', surface: 'api' },
  { method: 'POST', path: '/replay', permission: 'operate', surface: 'api', action: 'replay.create' },
  { method: 'POST', path: '/replay/:id/cancel', permission: 'operate', surface: 'api', action: 'replay.cancel' },
];
