import type { Request, Response } from 'express';
import { requestTraceContext, type TraceContext } from '../trace/trace-context';
import type { SpanHandle, Tracing } from '../trace/tracing';

/** What a request carries on: its trace context, if any, and its server span when tracing is on. */
export interface RequestTrace {
  /**
   * Trace context for what the request creates: tracing on, the server span's (always set);
   * tracing off, the caller's when its `traceparent` was valid, else undefined (nothing minted).
   */
  context: TraceContext | undefined;
  span: SpanHandle | undefined;
}

/**
 * The trace of an HTTP intake (`POST /events`, `POST /jobs/...`, README "Trace context").
 * Tracing off (`tracing` undefined): the caller's `traceparent` / `tracestate` headers when
 * valid, carried unchanged, else no trace context at all (`requestTraceContext`); a malformed
 * header is ignored, never an error. Tracing on: a server span `<method> <route>`, child of the
 * caller's context (none: a new root trace), whose context the request carries on; it ends when
 * the response is sent (an error status of 500 or more marks it failed).
 */
export function traceRequest(req: Request, res: Response, tracing: Tracing | undefined, route: string): RequestTrace {
  const caller = requestTraceContext({ traceparent: req.headers.traceparent, tracestate: req.headers.tracestate });
  if (tracing === undefined) return { context: caller, span: undefined };
  const span = tracing.start(`${req.method} ${route}`, {
    kind: 'server',
    parent: caller,
    attributes: { 'http.request.method': req.method, 'http.route': route },
  });
  res.once('finish', () => {
    span.setAttributes({ 'http.response.status_code': res.statusCode });
    span.end(res.statusCode >= 500 ? new Error(`HTTP ${res.statusCode}`) : undefined);
  });
  res.once('close', () => {
    if (!res.writableFinished) span.end(new Error('connection closed before the response was sent'));
  });
  // The span's context keeps the caller's tracestate (the span continues the caller's trace).
  return { context: { ...caller, traceparent: span.traceparent }, span };
}
