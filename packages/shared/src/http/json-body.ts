import express, { type RequestHandler } from 'express';
import { AppError, ValidationError } from '../errors';
import { MAX_JSON_DEPTH, exceedsJsonDepth } from '../json-depth';

/**
 * JSON body parsing for write routes: a body with another content type is 415, a body over
 * `limit` is 413, malformed JSON is 400 (mapped in the error middleware), a body nested deeper
 * than `MAX_JSON_DEPTH` is 400.
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
  const limitDepth: RequestHandler = (req, _res, next) => {
    if (exceedsJsonDepth(req.body)) return next(new ValidationError(`request body is nested deeper than ${MAX_JSON_DEPTH} levels`));
    next();
  };
  return [requireJson, express.json({ limit, strict: false }), limitDepth];
}
