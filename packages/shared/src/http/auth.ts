import { timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import { AppError } from '../errors';

function safeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/** `Authorization: Bearer <key>` when `apiKey` is set; open when it is not. */
export function requireBearer(apiKey: string | undefined): RequestHandler {
  return (req, _res, next) => {
    if (apiKey === undefined) return next();
    const header = req.headers.authorization ?? '';
    const match = /^Bearer\s+(.+)$/i.exec(header);
    if (match?.[1] !== undefined && safeEqual(match[1].trim(), apiKey)) return next();
    next(new AppError('unauthorized', 'missing or invalid API key (Authorization: Bearer <key>)'));
  };
}

/** HTTP basic auth when both user and password are set; open otherwise. */
export function requireBasicAuth(user: string | undefined, password: string | undefined, realm: string): RequestHandler {
  return (req, res, next) => {
    if (user === undefined || password === undefined) return next();
    const header = req.headers.authorization ?? '';
    const match = /^Basic\s+(.+)$/i.exec(header);
    if (match?.[1] !== undefined) {
      const decoded = Buffer.from(match[1], 'base64').toString('utf8');
      const separator = decoded.indexOf(':');
      if (
        separator >= 0 &&
        safeEqual(decoded.slice(0, separator), user) &&
        safeEqual(decoded.slice(separator + 1), password)
      ) {
        return next();
      }
    }
    res.setHeader('WWW-Authenticate', `Basic realm="${realm}", charset="UTF-8"`);
    next(new AppError('unauthorized', 'admin credentials required'));
  };
}
