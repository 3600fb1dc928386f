import { match } from 'path-to-regexp';
import { ValidationError } from '../errors';
import type { Permission } from './roles';

/**
 * Where a request came in: the machine API (`/jobs`, `/events`, `/dlq`, `/audit`), Bull Board,
 * or the operator console's pages (`/console`, users of `ADMIN_USERS` like Bull Board).
 */
export type Surface = 'api' | 'board' | 'console' | 'probe';

/**
 * One row of a service's route table: `method` and `path` exactly as the route is registered
 * in express (full path from the app root, express 5 / path-to-regexp 8 syntax), the
 * permission it needs, the surface it belongs to, and the audited action name of a mutating
 * route (absent for reads).
 */
export interface RouteRule {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'USE';
  path: string;
  permission: Permission;
  surface: Surface;
  /** `USE` rows (a mounted middleware such as static files) match every path below `path`. */
  action?: string;
}

export type RouteTable = readonly RouteRule[];

export interface MatchedRoute {
  rule: RouteRule;
  params: Record<string, string>;
}

interface CompiledRule {
  rule: RouteRule;
  test: (path: string) => false | { params: Partial<Record<string, string | string[]>> };
}

const PERMISSION_RANK: Record<Permission, number> = { public: 0, readOwn: 1, read: 2, submit: 3, operate: 4, administer: 5 };

/**
 * Compiles a table once. `lookup` returns the row for a request: of several matching rows
 * (`/api/queues/pause` and `/api/queues/:queueName/:jobId` can both match a path) the one
 * needing the most wins, so an ambiguity never lowers the bar. Undefined: no route. Throws
 * `ValidationError` (400) for a matching path whose parameter is malformed percent-encoding.
 */
export function compileRouteTable(table: RouteTable): { lookup(method: string, path: string): MatchedRoute | undefined } {
  const compiled: CompiledRule[] = table.map((rule) => ({
    rule,
    test: match(rule.path, { decode: decodeURIComponent, end: rule.method !== 'USE' }) as CompiledRule['test'],
  }));
  return {
    lookup(method, path) {
      const verb = method === 'HEAD' ? 'GET' : method;
      let best: MatchedRoute | undefined;
      for (const entry of compiled) {
        if (entry.rule.method !== verb && entry.rule.method !== 'USE') continue;
        let found: ReturnType<CompiledRule['test']>;
        try {
          found = entry.test(path);
        } catch (caught) {
          // The row matches but a parameter is malformed percent-encoding (`/jobs/q/%E0%A4%A`).
          if (caught instanceof URIError) throw new ValidationError('malformed percent-encoding in the URL');
          throw caught;
        }
        if (found === false) continue;
        if (best === undefined || PERMISSION_RANK[entry.rule.permission] > PERMISSION_RANK[best.rule.permission]) {
          const params = Object.fromEntries(Object.entries(found.params).map(([key, value]) => [key, Array.isArray(value) ? value.join('/') : String(value)]));
          best = { rule: entry.rule, params };
        }
      }
      return best;
    },
  };
}
