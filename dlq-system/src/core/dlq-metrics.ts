import { Counter, Gauge, type Registry } from '@event-infra/shared';
import type { DlqStore } from './dlq-store';

export interface DlqMetrics {
  received: Counter<'kind'>;
  parked: Counter<'origin' | 'classification' | 'reason'>;
  retried: Counter<'kind' | 'mode'>;
  recovered: Counter<'kind'>;
  alerts: Counter<'channel'>;
  webhookFailures: Counter;
  /** Claims on an entry without its retry token (a failure or a recovery report): ignored. */
  unverifiedClaims: Counter<'kind'>;
}

/**
 * Prometheus metrics of the DLQ processor on the service registry. Counters count what this
 * process did; `dlq_parked_entries` and `dlq_entries` read the stored state at scrape time.
 */
export function createDlqMetrics(registry: Registry, store: DlqStore): DlqMetrics {
  new Gauge({
    name: 'dlq_parked_entries',
    help: 'Entries parked in DLQ storage, by origin and classification',
    labelNames: ['origin', 'classification'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const [origin, byClass] of Object.entries(await store.parkedByOrigin())) {
        for (const [classification, count] of Object.entries(byClass)) this.set({ origin, classification }, count);
      }
    },
  });
  new Gauge({
    name: 'dlq_entries',
    help: 'Stored DLQ entries by status',
    labelNames: ['status'],
    registers: [registry],
    async collect() {
      for (const [status, count] of Object.entries(await store.countByStatus())) this.set({ status }, count);
    },
  });
  return {
    received: new Counter({ name: 'dlq_received_total', help: 'DLQ entries handled', labelNames: ['kind'], registers: [registry] }),
    parked: new Counter({
      name: 'dlq_parked_total',
      help: 'Entries parked (permanent or out of retries)',
      labelNames: ['origin', 'classification', 'reason'],
      registers: [registry],
    }),
    retried: new Counter({
      name: 'dlq_retried_total',
      help: 'Entries sent back to their origin',
      labelNames: ['kind', 'mode'],
      registers: [registry],
    }),
    recovered: new Counter({ name: 'dlq_recovered_total', help: 'Retried entries that then succeeded', labelNames: ['kind'], registers: [registry] }),
    alerts: new Counter({ name: 'dlq_alerts_sent_total', help: 'Alerts sent, by channel', labelNames: ['channel'], registers: [registry] }),
    webhookFailures: new Counter({ name: 'dlq_alert_webhook_failures_total', help: 'Alert webhook deliveries that gave up', registers: [registry] }),
    unverifiedClaims: new Counter({
      name: 'dlq_unverified_claims_total',
      help: "Failures or recovery reports claiming a DLQ entry without that entry's retry token (forged or stale): ignored",
      labelNames: ['kind'],
      registers: [registry],
    }),
  };
}
