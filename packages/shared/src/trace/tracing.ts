import type { Attributes, Tracer } from '@opentelemetry/api';
import type { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import type { Logger } from '../logger';
import { toError } from '../errors';
import type { TraceContext } from './trace-context';

/**
 * OpenTelemetry spans over OTLP/HTTP (README "Trace context and OpenTelemetry"). A service
 * builds one `Tracing` in its composition root when `OTEL_EXPORTER_OTLP_ENDPOINT` is set, and
 * passes it down like any dependency; when it is not set there is no `Tracing` at all: the SDK
 * is never imported (it is loaded with a dynamic import, so an untraced process does not even
 * hold its code), no provider exists and every call site, guarded by `tracing !== undefined`,
 * builds no span and no attribute object.
 *
 * Spans are linked by W3C `traceparent` strings, the form the stack carries in envelopes and job
 * data, not by an ambient context: a span's parent is the `traceparent` of what caused it, and
 * what it causes carries the span's own `traceparent`.
 */
export interface TracingConfig {
  /** `OTEL_EXPORTER_OTLP_ENDPOINT`: base URL of an OTLP/HTTP receiver; spans go to `<it>/v1/traces`. */
  OTEL_EXPORTER_OTLP_ENDPOINT?: string | undefined;
  /** `OTEL_SERVICE_NAME`: the resource's `service.name` (default: the service's own name). */
  OTEL_SERVICE_NAME?: string | undefined;
}

export type SpanKindName = 'server' | 'client' | 'producer' | 'consumer' | 'internal';

export interface StartSpanOptions {
  kind?: SpanKindName;
  /** Trace context of the cause: the span becomes its child (a new trace when absent). */
  parent?: TraceContext | undefined;
  /** Trace contexts the span is linked to (a batch span links its events), at most 128 kept. */
  links?: readonly string[] | undefined;
  attributes?: Attributes | undefined;
}

/** One started span. */
export interface SpanHandle {
  /** W3C `traceparent` of this span: what the span causes carries it. */
  readonly traceparent: string;
  setAttributes(attributes: Attributes): void;
  /** Ends the span; with `err`, marked as an error with the message (never the stack). */
  end(err?: Error): void;
}

/** Links kept per span (the SDK's default limit). */
const MAX_LINKS = 128;

type Api = typeof import('@opentelemetry/api');

export class Tracing {
  private closing: Promise<void> | undefined;

  constructor(
    private readonly api: Api,
    private readonly tracer: Tracer,
    private readonly provider: BasicTracerProvider,
    private readonly logger: Logger,
  ) {}

  /** Starts a span (ended by the caller, on every path). */
  start(name: string, options: StartSpanOptions = {}): SpanHandle {
    const { api } = this;
    const parent = options.parent === undefined ? undefined : this.spanContextOf(options.parent.traceparent, options.parent.tracestate);
    const context = parent === undefined ? api.ROOT_CONTEXT : api.trace.setSpanContext(api.ROOT_CONTEXT, parent);
    const links = options.links?.slice(0, MAX_LINKS).flatMap((traceparent) => {
      const linked = this.spanContextOf(traceparent, undefined);
      return linked === undefined ? [] : [{ context: linked }];
    });
    const span = this.tracer.startSpan(name, { kind: KINDS[options.kind ?? 'internal'], ...(links !== undefined ? { links } : {}), ...(options.attributes ? { attributes: options.attributes } : {}) }, context);
    const own = span.spanContext();
    const traceparent = `00-${own.traceId}-${own.spanId}-${(own.traceFlags & 0xff).toString(16).padStart(2, '0')}`;
    return {
      traceparent,
      setAttributes: (attributes) => void span.setAttributes(attributes),
      end: (err) => {
        if (err !== undefined) span.setStatus({ code: api.SpanStatusCode.ERROR, message: err.message.slice(0, 1024) });
        span.end();
      },
    };
  }

  /** Runs `work` inside a span that ends when it settles (an error marks it failed and is rethrown). */
  async inSpan<T>(name: string, options: StartSpanOptions, work: (span: SpanHandle) => Promise<T>): Promise<T> {
    const span = this.start(name, options);
    try {
      const result = await work(span);
      span.end();
      return result;
    } catch (caught) {
      span.end(toError(caught));
      throw caught;
    }
  }

  /** Exports what is buffered and stops; idempotent. */
  close(): Promise<void> {
    this.closing ??= this.provider.shutdown().catch((caught: unknown) => {
      // The spans still buffered are lost; the service's shutdown goes on.
      this.logger.warn({ err: toError(caught) }, 'could not export the last spans');
    });
    return this.closing;
  }

  /** Exports what is buffered now (tests, shutdown). */
  async flush(): Promise<void> {
    await this.provider.forceFlush();
  }

  private spanContextOf(traceparent: string, tracestate: string | undefined) {
    const [, traceId, spanId, flags] = traceparent.split('-');
    if (traceId === undefined || spanId === undefined || flags === undefined) return undefined;
    if (!this.api.isValidTraceId(traceId) || !this.api.isValidSpanId(spanId)) return undefined;
    return {
      traceId,
      spanId,
      traceFlags: Number.parseInt(flags, 16) & 0xff,
      isRemote: true,
      ...(tracestate !== undefined ? { traceState: this.api.createTraceState(tracestate) } : {}),
    };
  }
}

const KINDS = { internal: 0, server: 1, client: 2, producer: 3, consumer: 4 } as const;

/**
 * The service's `Tracing`, or undefined when `OTEL_EXPORTER_OTLP_ENDPOINT` is not set (then
 * nothing of the SDK is loaded). Spans are batched and exported over OTLP/HTTP (JSON).
 */
export async function startTracing(config: TracingConfig, serviceName: string, logger: Logger): Promise<Tracing | undefined> {
  const endpoint = config.OTEL_EXPORTER_OTLP_ENDPOINT;
  if (endpoint === undefined || endpoint === '') return undefined;
  const [api, sdk, exporterModule, resources, semconv] = await Promise.all([
    import('@opentelemetry/api'),
    import('@opentelemetry/sdk-trace-base'),
    import('@opentelemetry/exporter-trace-otlp-http'),
    import('@opentelemetry/resources'),
    import('@opentelemetry/semantic-conventions'),
  ]);
  const exporter = new exporterModule.OTLPTraceExporter({ url: `${endpoint.replace(/\/+$/, '')}/v1/traces` });
  const provider = new sdk.BasicTracerProvider({
    resource: resources.resourceFromAttributes({ [semconv.ATTR_SERVICE_NAME]: config.OTEL_SERVICE_NAME ?? serviceName }),
    spanProcessors: [new sdk.BatchSpanProcessor(exporter, { scheduledDelayMillis: 1_000 })],
  });
  logger.child({ component: 'tracing' }).info({ endpoint: new URL(endpoint).origin }, 'OpenTelemetry spans exported over OTLP/HTTP');
  return new Tracing(api, provider.getTracer('event-infra'), provider, logger.child({ component: 'tracing' }));
}
