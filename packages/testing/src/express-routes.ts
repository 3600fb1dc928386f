import type { Express } from 'express';
import type { RouteTable } from '@event-infra/shared';

/** One registered route (or a path-mounted plain middleware, method `USE`), full path from the app root. */
export interface RegisteredRoute {
  method: string;
  path: string;
}

interface Layer {
  rawPath?: string | string[];
  slash?: boolean;
  route?: { path: string | string[]; methods: Record<string, boolean> };
  handle: { stack?: Layer[]; router?: { stack?: Layer[] } } & ((...args: unknown[]) => unknown);
  name: string;
}

const join = (prefix: string, path: string): string => {
  const joined = `${prefix}${path === '/' ? '' : path}`;
  return joined === '' ? '/' : joined;
};

const asList = (path: string | string[] | undefined): string[] => (path === undefined ? [''] : Array.isArray(path) ? path : [path]);

function walk(stack: readonly Layer[], prefix: string, out: RegisteredRoute[]): void {
  for (const layer of stack) {
    if (layer.route !== undefined) {
      const methods = Object.keys(layer.route.methods).filter((method) => layer.route!.methods[method] && method !== '_all');
      for (const path of asList(layer.route.path)) for (const method of methods) out.push({ method: method.toUpperCase(), path: join(prefix, path) });
      continue;
    }
    const paths = layer.slash ? [''] : asList(layer.rawPath).map((path) => (path === '/' ? '' : path));
    // A router, or an express app used as middleware (its own router holds the routes).
    const inner = layer.handle.stack ?? layer.handle.router?.stack;
    for (const path of paths) {
      if (inner !== undefined) walk(inner, join(prefix, path) === '/' ? '' : join(prefix, path), out);
      else if (path !== '') out.push({ method: 'USE', path: join(prefix, path) });
    }
  }
}

/** Every route an express 5 app has registered, walking mounted routers and apps. */
export function registeredRoutes(app: Express): RegisteredRoute[] {
  const out: RegisteredRoute[] = [];
  walk((app as unknown as { router: { stack: Layer[] } }).router.stack, '', out);
  return out;
}

/** Registered routes with no row in `table` (a row's path must equal the route's path). */
export function routesMissingFrom(app: Express, table: RouteTable): RegisteredRoute[] {
  const rows = new Set(table.map((rule) => `${rule.method} ${rule.path}`));
  return registeredRoutes(app).filter(({ method, path }) => !rows.has(`${method === 'HEAD' ? 'GET' : method} ${path}`));
}
