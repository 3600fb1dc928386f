import type { RequestHandler } from 'express';
import { AppError } from '../errors';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Refuses (403) a state-changing request that a browser sent from another site. A browser
 * that holds Basic credentials for a service (Bull Board, the console) sends them with any
 * request to it, a cross-site form POST included; browsers mark such requests with
 * `Sec-Fetch-Site: cross-site` / `same-site` and an `Origin` naming the other site. Requests
 * without those headers (curl, services, scripts) are not browsers' cross-site requests and
 * pass: the access check still decides who they are.
 */
export function sameOriginWrites(): RequestHandler {
  return (req, _res, next) => {
    if (SAFE_METHODS.has(req.method)) return next();
    const site = req.headers['sec-fetch-site'];
    if (site === 'cross-site' || site === 'same-site') return next(new AppError('forbidden', 'cross-site request refused'));
    const origin = req.headers.origin;
    if (origin !== undefined) {
      let host: string | undefined;
      try {
        host = new URL(origin).host;
      } catch {
        // `Origin: null` (sandboxed frames, some redirects) or garbage: not this origin.
        host = undefined;
      }
      if (host === undefined || host !== req.headers.host) return next(new AppError('forbidden', 'cross-origin request refused'));
    }
    next();
  };
}
