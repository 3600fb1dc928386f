import express, { type RequestHandler } from 'express';
import { AppError } from '../errors';

/**
 * JSON body parsing for write routes: a body with another content type is 415, a body over
 * `limit` is 413, malformed JSON is 400 (mapped in the error middleware).
 */
export function jsonBody(limit: string): RequestHandler[] {
  const requireJson: RequestHandler = (req, _res, next) => {
    const hasBody = req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0';
    const chunked = req.headers['transfer-encoding'] !== undefined;
    if ((hasBody || chunked) && !req.is('application/json')) {
      return next(new AppError('unsupported_media_type', 'request body must be application/json'));
    }
    next();
  };
  return [requireJson, express.json({ limit, strict: false })];
}
