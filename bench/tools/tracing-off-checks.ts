/**
 * Issue #15, "tracing off costs under 2 %": what the stack's own tracing-off code still costs
 * per event once nothing is minted (docs/benchmarks/timeline-cost.md, "Tracing."). A microbenchmark in one process,
 * no Redis, PROBE_ROUNDS (9) rounds of PROBE_CALLS (1,000,000) calls each, the median round:
 *   - `intake, no caller context`: `traceRequest` with tracing off on a request without trace
 *     headers (what `POST /events` and `POST /jobs/...` now run per request: two header reads,
 *     nothing minted);
 *   - `intake, a caller's traceparent`: the same with a valid `traceparent` and `tracestate`
 *     (parsed and carried: the caller's data);
 *   - `mint (before)`: `newTraceparent()`, what every such request paid on top before the change
 *     (random bytes, hex, a 55-character string per request, and 55 bytes more on the wire);
 *   - `drain guards, per delivery`: the event processor's per-delivery checks with tracing off
 *     (`spans !== undefined` before the handlers, `spans?.[index]?.end()` after them:
 *     `batch-processor.ts`), over batches of 100, against the same loop without them.
 * Run (heavy lock; about 3 minutes on the 2-core VM of 2026-12-02): flock /work/wt/heavy.lock npx tsx bench/tools/tracing-off-checks.ts
 */
import { newTraceparent, traceRequest, type SpanHandle } from '@event-infra/shared';
import { median } from '../lib/stats';

const ROUNDS = Number(process.env.PROBE_ROUNDS ?? 9);
const CALLS = Number(process.env.PROBE_CALLS ?? 1_000_000);
const BATCH = 100;

type Req = Parameters<typeof traceRequest>[0];
type Res = Parameters<typeof traceRequest>[1];
const res = {} as Res;
const bare = { method: 'POST', headers: { 'content-type': 'application/json' } } as unknown as Req;
const traced = {
  method: 'POST',
  headers: { 'content-type': 'application/json', traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', tracestate: 'rojo=00f067aa0ba902b7' },
} as unknown as Req;

/** Something each measured call writes, read at the end, so that no call is optimised away. */
let sink = 0;

/** µs per call of `work` (median of the rounds, after one warm-up round). */
function perCall(work: () => void): number {
  const rounds: number[] = [];
  for (let round = 0; round <= ROUNDS; round += 1) {
    const started = process.hrtime.bigint();
    for (let call = 0; call < CALLS; call += 1) work();
    const us = Number(process.hrtime.bigint() - started) / 1_000 / CALLS;
    if (round > 0) rounds.push(us);
  }
  return median(rounds);
}

/** A batch of deliveries as the processor runs them with tracing off: `spans` undefined, its checks kept or left out. */
function deliveries(spans: SpanHandle[] | undefined, guarded: boolean): void {
  for (let index = 0; index < BATCH; index += 1) {
    if (guarded && spans !== undefined) spans.push({} as SpanHandle);
    sink += index;
    if (guarded) spans?.[index]?.end();
  }
}
/** Read from a global each call, so the compiler cannot prove it undefined. */
const state: { spans: SpanHandle[] | undefined } = { spans: undefined };

const rows: [string, number][] = [
  ['intake, no caller context (traceRequest, tracing off)', perCall(() => void (sink += traceRequest(bare, res, undefined, '/events').context === undefined ? 1 : 0))],
  ["intake, a caller's traceparent and tracestate", perCall(() => void (sink += traceRequest(traced, res, undefined, '/events').context?.traceparent.length ?? 0))],
  ['mint (before): newTraceparent()', perCall(() => void (sink += newTraceparent().length))],
  ['drain, a batch of 100 deliveries with the guards', perCall(() => deliveries(state.spans, true))],
  ['drain, the same batch without them', perCall(() => deliveries(state.spans, false))],
];
for (const [what, us] of rows) process.stdout.write(`${what.padEnd(58)} ${us.toFixed(4)} µs per call\n`);
const guards = (rows[3]![1] - rows[4]![1]) / BATCH;
process.stdout.write(`drain guards per delivery: ${(guards * 1_000).toFixed(2)} ns (${CALLS} batches × ${ROUNDS} rounds)\n`);
process.stdout.write(`(sink ${sink > 0 ? 'written' : 'empty'})\n`);
