/**
 * OpenTelemetry (README "Trace context and OpenTelemetry"): with OTEL_EXPORTER_OTLP_ENDPOINT
 * unset nothing of the SDK is loaded (checked in a real child process that imports the three
 * services, with a module-resolution probe), so no provider and no span can exist; with it set,
 * spans reach a real OTLP/HTTP receiver on loopback, as children of the `traceparent` they are
 * given, with their links, error status and service name.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { newTraceparent, startTracing, type Tracing } from '@event-infra/shared';
import { silentLogger, startOtlpReceiver, waitFor, type OtlpReceiver } from '@event-infra/testing';

const fixtures = fileURLToPath(new URL('./fixtures/', import.meta.url));
let receiver: OtlpReceiver | undefined;
let tracing: Tracing | undefined;

afterEach(async () => {
  await tracing?.close();
  tracing = undefined;
  await receiver?.close();
  receiver = undefined;
});

/** Runs the probe child; answers its verdict and the @opentelemetry modules it resolved. */
async function probe(endpoint: string): Promise<{ verdict: string; loaded: string[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'evinfra-otel-probe-'));
  const file = join(dir, 'resolved.txt');
  try {
    const stdout = await new Promise<string>((resolve, reject) => {
      execFile(
        process.execPath,
        ['--import', join(fixtures, 'otel-load-probe.mjs'), '--import', 'tsx', join(fixtures, 'otel-load-main.ts'), endpoint],
        { env: { PATH: process.env.PATH, HOME: process.env.HOME, OTEL_PROBE_FILE: file }, timeout: 120_000 },
        (err, out, errOut) => (err ? reject(new Error(`${err.message}\n${errOut}`)) : resolve(out)),
      );
    });
    const loaded = existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];
    return { verdict: stdout.trim(), loaded };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('tracing off', () => {
  it('gives no Tracing without an endpoint', async () => {
    expect(await startTracing({}, 'test', silentLogger())).toBeUndefined();
    expect(await startTracing({ OTEL_EXPORTER_OTLP_ENDPOINT: '' }, 'test', silentLogger())).toBeUndefined();
  });

  it('never loads the SDK in a process that imports all three services; with an endpoint it does', async () => {
    const off = await probe('');
    expect(off.verdict).toBe('off');
    expect(off.loaded.filter((url) => /sdk-trace|exporter-trace|otlp-/.test(url))).toEqual([]);
    // The probe sees SDK loads at all: the same process with an endpoint loads the SDK.
    const on = await probe('http://127.0.0.1:9');
    expect(on.verdict).toBe('on');
    expect(on.loaded.some((url) => url.includes('/@opentelemetry/sdk-trace-base/'))).toBe(true);
    expect(on.loaded.some((url) => url.includes('/@opentelemetry/exporter-trace-otlp-http/'))).toBe(true);
  }, 240_000);
});

describe('tracing on', () => {
  it('exports spans over OTLP/HTTP as children of the given traceparent, with links and errors', async () => {
    receiver = await startOtlpReceiver();
    tracing = await startTracing({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_SERVICE_NAME: 'custom-name' }, 'default-name', silentLogger());
    expect(tracing).toBeDefined();
    const parent = newTraceparent();
    const [, traceId, parentSpanId] = parent.split('-');
    const intake = tracing!.start('POST /events', { kind: 'server', parent: { traceparent: parent, tracestate: 'rojo=1' }, attributes: { 'http.route': '/events' } });
    expect(intake.traceparent).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
    const linked = newTraceparent();
    const batch = tracing!.start('process batch s', { kind: 'consumer', links: [linked, 'not-a-traceparent'] });
    batch.end();
    await expect(tracing!.inSpan('job q n', { kind: 'consumer', parent: { traceparent: intake.traceparent } }, async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    intake.end();
    await tracing!.flush();
    const spans = await waitFor(async () => (receiver!.spans.length >= 3 ? receiver!.spans : undefined), 'three spans', { timeoutMs: 10_000, intervalMs: 50 });
    const byName = new Map(spans.map((span) => [span.name, span]));
    const http = byName.get('POST /events')!;
    expect(http).toMatchObject({ service: 'custom-name', traceId, parentSpanId, kind: 2 });
    expect(http.attributes['http.route']).toBe('/events');
    expect(byName.get('job q n')).toMatchObject({ traceId, parentSpanId: http.spanId, statusCode: 2 });
    const batchSpan = byName.get('process batch s')!;
    expect(batchSpan.links).toEqual([{ traceId: linked.split('-')[1], spanId: linked.split('-')[2] }]);
    expect(batchSpan.parentSpanId).toBeUndefined();
    expect(receiver.rejected).toBe(0);
  });
});
