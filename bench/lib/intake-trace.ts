/**
 * What the HTTP intake (`POST /events`, `POST /jobs/...`) gives what it creates with tracing off:
 * `traceRequest` itself, the routes' helper, on a request with these headers (tracing off it
 * reads only the headers: no response is touched), so the benchmarks' entries follow the
 * product if it changes (docs/benchmarks/timeline-cost.md, "Tracing off mints nothing").
 */
import { traceRequest, type EventInput, type TraceContext } from '@event-infra/shared';

export function intakeContext(headers: Record<string, string> = {}): TraceContext | undefined {
  const req = { method: 'POST', headers } as unknown as Parameters<typeof traceRequest>[0];
  return traceRequest(req, {} as Parameters<typeof traceRequest>[1], undefined, '/events').context;
}

/** The benchmarks' event data (a `workspace.created`). */
export const BENCH_EVENT_DATA = { workspaceId: 'w-1', name: 'bench', ownerId: 'u-1' };

/** A `workspace.created` as the intake hands it to the publisher for a request with these headers. */
export function intakeEvent(headers: Record<string, string> = {}): EventInput {
  return { type: 'workspace.created', data: BENCH_EVENT_DATA, ...intakeContext(headers) } as EventInput;
}
