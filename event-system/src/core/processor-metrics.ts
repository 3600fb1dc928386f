import { Counter, Gauge, Histogram, type Registry } from '@event-infra/shared';

/** Event times further than this from now are not latency samples, ms (one day). */
export const LATENCY_WINDOW_MS = 86_400_000;

/** Plain counters since start, shown in `/stats`. */
export interface ProcessorCounters {
  /** Events whose handlers all succeeded (acknowledged). */
  processed: number;
  /** Handler failures (the entry stayed pending for redelivery, or went to the DLQ). */
  failed: number;
  /** Entries sent to the DLQ (invalid, poison, or permanent failure). */
  deadLettered: number;
  /** Of those, entries that were not valid events. */
  invalid: number;
  /** Events acknowledged without running handlers: id already processed within the window. */
  duplicates: number;
  /** Entries taken over from other consumers by XAUTOCLAIM. */
  reclaimed: number;
}

/**
 * Counters and Prometheus metrics of the event processor. Numbers for `/stats` live here; the
 * prom-client metrics are registered on the service registry.
 */
export class ProcessorMetrics {
  readonly counters: ProcessorCounters = { processed: 0, failed: 0, deadLettered: 0, invalid: 0, duplicates: 0, reclaimed: 0 };
  private readonly events: Counter<'outcome'>;
  private readonly latency: Histogram;
  private readonly skewed: Counter;
  readonly gauges: {
    streamLength: Gauge;
    groupLag: Gauge;
    groupPending: Gauge;
    consumerLoops: Gauge;
    capUsage: Gauge;
    oldestPendingAge: Gauge;
    oldestEntryAge: Gauge;
  };

  /** Called before `/metrics` is rendered, to refresh the stream gauges (set by the engine). */
  onCollect: (() => Promise<void>) | undefined;

  constructor(registry: Registry) {
    const registers = [registry];
    this.events = new Counter({
      name: 'event_processor_events_total',
      help: 'Stream entries by outcome: processed, failed, dead_lettered, invalid, duplicate, reclaimed',
      labelNames: ['outcome'],
      registers,
    });
    this.latency = new Histogram({
      name: 'event_processor_latency_seconds',
      help: 'Time from the event publish (`time` attribute) to the end of its handlers',
      buckets: [0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    });
    this.skewed = new Counter({
      name: 'event_processor_latency_skipped_total',
      help: `Processed events whose \`time\` is more than ${LATENCY_WINDOW_MS / 3_600_000} h from now (kept, not in the latency histogram)`,
      registers,
    });
    this.gauges = {
      streamLength: new Gauge({
        name: 'event_processor_stream_length',
        help: 'XLEN of the stream',
        registers,
        // One refresh per scrape; a Redis failure leaves the last values (logged by the engine).
        collect: async () => {
          await this.onCollect?.();
        },
      }),
      groupLag: new Gauge({ name: 'event_processor_group_lag', help: 'Entries not yet delivered to the group', registers }),
      groupPending: new Gauge({ name: 'event_processor_group_pending', help: 'Entries delivered but not acknowledged', registers }),
      consumerLoops: new Gauge({ name: 'event_processor_consumer_loops', help: 'Consumer loops running in this process', registers }),
      capUsage: new Gauge({
        name: 'event_processor_stream_cap_usage_ratio',
        help: 'Stream length / STREAM_MAXLEN_APPROX (1 means the safety cap drops entries)',
        registers,
      }),
      oldestEntryAge: new Gauge({
        name: 'event_processor_oldest_entry_age_seconds',
        help: 'Age of the oldest entry the stream still holds (retained history; 0: empty)',
        registers,
      }),
      oldestPendingAge: new Gauge({
        name: 'event_processor_oldest_pending_age_seconds',
        help: 'Age of the oldest entry delivered but not acknowledged in any group of the stream (0: none)',
        registers,
      }),
    };
  }

  count(outcome: keyof ProcessorCounters, by = 1): void {
    if (by === 0) return;
    this.counters[outcome] += by;
    this.events.inc({ outcome: outcomeLabel[outcome] }, by);
  }

  /**
   * Records publish → handled latency for an event published at `publishedAtMs`. A `time`
   * more than a day from now (a publisher's clock or a forged value) would poison the
   * histogram: it is counted in `event_processor_latency_skipped_total` instead.
   */
  observeLatency(publishedAtMs: number, nowMs = Date.now()): void {
    if (!Number.isFinite(publishedAtMs) || Math.abs(nowMs - publishedAtMs) > LATENCY_WINDOW_MS) {
      this.skewed.inc();
      return;
    }
    this.latency.observe(Math.max(0, nowMs - publishedAtMs) / 1000);
  }
}

const outcomeLabel: Record<keyof ProcessorCounters, string> = {
  processed: 'processed',
  failed: 'failed',
  deadLettered: 'dead_lettered',
  invalid: 'invalid',
  duplicates: 'duplicate',
  reclaimed: 'reclaimed',
};
