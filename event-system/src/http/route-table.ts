import { PROBE_ROUTES, type RouteTable } from '@event-infra/shared';

/**
 * Every route of the event processor (port 8010) and the permission it needs. Today all are
 * probes (public), so no access check is mounted yet; a route that needs a role (issue #16's
 * `POST /replay`: `operate`, with an audit `action`) adds its row here and mounts
 * `accessControl` in `app.ts`, as the queue and DLQ processors do.
 */
export const EVENT_ROUTE_TABLE: RouteTable = [...PROBE_ROUTES];
