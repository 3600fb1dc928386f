import type { Request, RequestHandler } from 'express';
import { AppError } from '../errors';
import type { Authenticator } from './authenticator';
import type { AccessMetrics } from './access-metrics';
import { hasApiKeys, hasUsers, type CredentialSet } from './credentials';
import { ANONYMOUS, roleAllows, type Principal } from './roles';
import { compileRouteTable, type MatchedRoute, type RouteTable, type Surface } from './route-table';

declare module 'express-serve-static-core' {
  interface Request {
    /** Who is calling (set by the access check on every non-public route). */
    principal?: Principal;
    /** The route-table row the request matched. */
    access?: MatchedRoute;
  }
}

export interface AccessControlDeps {
  table: RouteTable;
  authenticator: Authenticator;
  credentials: CredentialSet;
  metrics: AccessMetrics;
  /**
   * The `realm` of the Basic challenge a 401 carries, per surface. Default: `Bull Board` on the
   * board, none elsewhere. The DLQ processor gives its console and its API one realm, so a
   * browser logged in to `/console` answers the API's challenge from its cache (no prompt).
   */
  realms?: Partial<Record<Surface, string>>;
}

/** The client address as the socket sees it (`trust proxy` is off). */
export const clientAddress = (req: Request): string => req.socket.remoteAddress ?? 'unknown';

/**
 * The one access check, mounted before every route of a service: finds the request's row
 * in the route table, authenticates the caller and checks the row's permission against the
 * caller's role. A surface with no credentials configured stays open (the anonymous
 * principal is an admin, as before roles existed); credentials that are presented are
 * always checked. A request matching no row is a 404 at once (the route-table test
 * guarantees every registered route has a row).
 */
export function accessControl(deps: AccessControlDeps): RequestHandler {
  const table = compileRouteTable(deps.table);
  const apiOpen = !hasApiKeys(deps.credentials);
  const boardOpen = !hasUsers(deps.credentials);
  const realms: Partial<Record<Surface, string>> = { board: 'Bull Board', ...deps.realms };
  return (req, res, next) => {
    let found: MatchedRoute | undefined;
    try {
      found = table.lookup(req.method, req.path);
    } catch (caught) {
      return next(caught);
    }
    // Deny by default: a request no row matches is answered 404 here, never passed on, so a
    // spelling express would still route (case, slashes, encoding) cannot skip the check.
    if (found === undefined) return next(new AppError('not_found', `no route for ${req.method} ${req.path}`));
    req.access = found;
    const { surface, permission } = found.rule;
    if (permission === 'public') return next();
    const header = req.headers.authorization;
    // The console logs users in like Bull Board does: open exactly when Bull Board would be.
    const open = surface === 'board' || surface === 'console' ? boardOpen : apiOpen;
    const refuse = (error: AppError, status: number): void => {
      deps.metrics.denied.inc({ surface, status: String(status) });
      const realm = realms[surface];
      if (status === 401 && realm !== undefined) res.setHeader('WWW-Authenticate', `Basic realm="${realm}", charset="UTF-8"`);
      next(error);
    };
    const check = (principal: Principal): void => {
      req.principal = principal;
      if (roleAllows(principal.role, permission)) return next();
      refuse(new AppError('forbidden', `${principal.role} ${principal.name} may not ${req.method} ${req.path} (needs ${permission})`), 403);
    };
    if (open && header === undefined) return check(ANONYMOUS);
    deps.authenticator.authenticate(header, clientAddress(req)).then(
      (result) => {
        if (result.ok) return check(result.principal);
        if (result.reason === 'invalid') deps.metrics.loginFailures.inc({ surface });
        const message = surface === 'board' || surface === 'console' ? 'admin credentials required' : 'missing or invalid credentials (Authorization: Bearer <key>, or Basic for users)';
        refuse(new AppError('unauthorized', message), 401);
      },
      (caught: unknown) => next(caught),
    );
  };
}
