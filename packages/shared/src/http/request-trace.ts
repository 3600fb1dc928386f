import type { Request, Response } from 'express';
import { requestTraceContext, type TraceContext } from '../trace/trace-context';
import type { SpanHandle, Tracing } from '../trace/tracing';

/** What a request carries on: its trace context, and its server span when tracing is on. */
export interface RequestTrace {
  /** Trace context for what the request creates: the server span's, else the caller's or a new one. */
  context: TraceContext;
  span: SpanHandle | undefined;
}

/**
 * The trace of an HTTP intake (`POST /events`, `POST /jobs/...`): the caller's `traceparent` /
 * `tracestate` headers when valid (README "Trace context"), else a new trace; a malformed
 * header is ignored, never an error. With `tracing`, a server span `<method> <route>`, child of
 * the caller's context, ends when the response is sent (an error status of 500 or more marks it failed).
 */
export function traceRequest(req: Request, res: Response, tracing: Tracing | undefined, route: string): RequestTrace {
  const caller = requestTraceContext({ traceparent: req.headers.traceparent, tracestate: req.headers.tracestate });
  const context: TraceContext = { traceparent: caller.traceparent, ...(caller.tracestate !== undefined ? { tracestate: caller.tracestate } : {}) };
  if (tracing === undefined) return { context, span: undefined };
  const span = tracing.start(`${req.method} ${route}`, {
    kind: 'server',
    parent: caller.fromCaller ? context : undefined,
    attributes: { 'http.request.method': req.method, 'http.route': route },
  });
  res.once('finish', () => {
    span.setAttributes({ 'http.response.status_code': res.statusCode });
    span.end(res.statusCode >= 500 ? new Error(`HTTP ${res.statusCode}`) : undefined);
  });
  res.once('close', () => {
    if (!res.writableFinished) span.end(new Error('connection closed before the response was sent'));
  });
  return { context: { ...context, traceparent: span.traceparent }, span };
}
