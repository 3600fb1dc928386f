import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Router, type RequestHandler } from 'express';
import { AppError, NotFoundError, ValidationError, asyncHandler, correlationIdSchema, roleAllows, type RouteRule, type Timeline } from '@event-infra/shared';

/** Where the console's pages are mounted (README "Operator console"). */
export const CONSOLE_PATH = '/console';

/** The pages: each answers the same shell, whose script renders the page its path names. */
export const CONSOLE_PAGES = ['', '/dlq', '/dlq/:id', '/redrive', '/streams'] as const;

/** The console's rows of the DLQ processor's route table: pages and files need `read`. */
export const CONSOLE_ROUTES: readonly RouteRule[] = [
  ...CONSOLE_PAGES.map((page): RouteRule => ({ method: 'GET', path: `${CONSOLE_PATH}${page}`, permission: 'read', surface: 'console' })),
  { method: 'GET', path: `${CONSOLE_PATH}/api/me`, permission: 'read', surface: 'console' },
  { method: 'GET', path: `${CONSOLE_PATH}/api/timeline/:correlationId`, permission: 'read', surface: 'console' },
  { method: 'GET', path: `${CONSOLE_PATH}/assets/:file`, permission: 'read', surface: 'console' },
  { method: 'GET', path: `${CONSOLE_PATH}/vendor/:file`, permission: 'read', surface: 'console' },
];

export interface ConsoleRoutesOptions {
  /** `CONSOLE_QUEUE_PROCESSOR_URL`: Bull Board and the timeline live there. */
  queueProcessorUrl: string;
  /** The stored timeline of a correlation (master Redis), undefined when none is stored. */
  readTimeline: (correlationId: string) => Promise<Timeline | undefined>;
}

/**
 * No inline script or style, nothing from another origin: every value a page shows is set
 * as text by its script, so client data in an entry cannot run as code even if a page forgot.
 */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "font-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const CONTENT_TYPES: Record<string, string> = { '.js': 'text/javascript', '.css': 'text/css', '.html': 'text/html' };

const STATIC_DIR = join(dirname(fileURLToPath(import.meta.url)), 'static');
const SHELL = join(STATIC_DIR, 'console.html');

/** uPlot (the throughput chart) straight from node_modules: the machine reaches npm, never a CDN. */
function vendorFiles(): Map<string, string> {
  const uplotDir = dirname(createRequire(import.meta.url).resolve('uplot/package.json'));
  return new Map([
    ['uplot.js', join(uplotDir, 'dist', 'uPlot.esm.js')],
    ['uplot.css', join(uplotDir, 'dist', 'uPlot.min.css')],
  ]);
}

/** The files under `static/` (read once: a request can only name one of these). */
function assetFiles(): Map<string, string> {
  const files = readdirSync(STATIC_DIR).filter((name) => CONTENT_TYPES[extname(name)] !== undefined && name !== 'console.html');
  return new Map(files.map((name) => [name, join(STATIC_DIR, name)]));
}

const securityHeaders: RequestHandler = (_req, res, next) => {
  res.setHeader('Content-Security-Policy', CONSOLE_CSP);
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Referrer-Policy', 'same-origin');
  res.setHeader('X-Frame-Options', 'DENY');
  next();
};

function fileRoute(files: Map<string, string>): RequestHandler {
  return (req, res, next) => {
    const name = String(req.params.file);
    const path = files.get(name);
    if (path === undefined) return next(new NotFoundError(`no console file ${name}`));
    res.type(CONTENT_TYPES[extname(path)] ?? 'application/octet-stream');
    res.setHeader('Cache-Control', 'no-cache');
    res.sendFile(path, (caught) => {
      if (caught !== undefined && !res.headersSent) next(caught);
    });
  };
}

/**
 * The operator console at `/console` (README "Operator console"): static pages whose scripts
 * call the DLQ processor's JSON routes with the browser's login, plus `GET /console/api/me`
 * (who is logged in, what they may do, where Bull Board is). Every action a page offers is a
 * call to the JSON API, where the route table decides; the page only hides what it cannot do.
 */
export function consoleRoutes(options: ConsoleRoutesOptions): Router {
  const router = Router();
  const base = options.queueProcessorUrl.replace(/\/+$/, '');
  router.use(securityHeaders);
  const shell: RequestHandler = (_req, res, next) => {
    res.type('text/html');
    res.setHeader('Cache-Control', 'no-store');
    res.sendFile(SHELL, (caught) => {
      if (caught !== undefined && !res.headersSent) next(caught);
    });
  };
  for (const page of CONSOLE_PAGES) router.get(page === '' ? '/' : page, shell);
  router.get(
    '/api/me',
    asyncHandler(async (req, res) => {
      const principal = req.principal;
      if (principal === undefined) throw new AppError('unauthorized', 'admin credentials required');
      res.setHeader('Cache-Control', 'no-store');
      res.json({
        principal: { name: principal.name, role: principal.role, kind: principal.kind },
        may: { read: roleAllows(principal.role, 'read'), operate: roleAllows(principal.role, 'operate'), administer: roleAllows(principal.role, 'administer') },
        links: { bullBoard: `${base}/admin/queues`, timeline: `${base}/timeline` },
      });
    }),
  );
  // The entry page shows the timeline of the entry's correlation (README "Correlation,
  // causation and the timeline"): read here from the master, so the page needs no login on 8009.
  router.get(
    '/api/timeline/:correlationId',
    asyncHandler(async (req, res) => {
      const parsed = correlationIdSchema.safeParse(req.params.correlationId);
      if (!parsed.success) throw new ValidationError('invalid correlation id', parsed.error.issues.map(({ path, message }) => ({ path: path.join('.'), message })));
      const timeline = await options.readTimeline(parsed.data);
      if (timeline === undefined) throw new NotFoundError('no timeline for that correlation (TIMELINE_ENABLED off, never recorded, or past TIMELINE_RETENTION_SEC)');
      res.setHeader('Cache-Control', 'no-store');
      res.json(timeline);
    }),
  );
  router.get('/assets/:file', fileRoute(assetFiles()));
  router.get('/vendor/:file', fileRoute(vendorFiles()));
  return router;
}
