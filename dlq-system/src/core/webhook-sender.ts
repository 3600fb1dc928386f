import { toError, type Logger } from '@event-infra/shared';

export interface WebhookSenderOptions {
  /** `ALERT_WEBHOOK_URL`; never logged (it may carry a token). */
  url: string;
  /** Timeout of one POST, ms. */
  timeoutMs: number;
  /** Attempts per payload, first included. */
  attempts: number;
  /** Delay before the 2nd attempt, ms; doubles after each, capped at `maxDelayMs`. */
  retryDelayMs: number;
  /** Default 300,000 (5 minutes). */
  maxDelayMs?: number;
}

export interface DeliveryOutcome {
  delivered: boolean;
  attempts: number;
  lastError?: string;
}

export interface WebhookSenderDeps {
  logger: Logger;
  /** Called after every attempt (history bookkeeping); its errors are logged, not thrown. */
  onAttempt?: (id: string, outcome: DeliveryOutcome & { done: boolean }) => Promise<void>;
}

/**
 * POSTs JSON payloads in the background: `send` returns at once, each delivery retries with
 * exponential backoff until a 2xx or its attempts are used. A slow or dead receiver never
 * blocks the caller. `close` cancels pending retries; their alerts stay `pending` in the
 * history and the alerter sends them again on the next start.
 */
export class WebhookSender {
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly inFlight = new Set<Promise<void>>();
  private readonly controller = new AbortController();
  private closed = false;
  private readonly logger: Logger;

  constructor(
    private readonly options: WebhookSenderOptions,
    private readonly deps: WebhookSenderDeps,
  ) {
    this.logger = deps.logger.child({ component: 'webhook' });
  }

  /** Starts delivering `payload` (identified by `id`); returns immediately. */
  send(id: string, payload: unknown): void {
    if (this.closed) return;
    this.attempt(id, JSON.stringify(payload), 1);
  }

  private attempt(id: string, body: string, attempt: number): void {
    const run = (async () => {
      let error: string | undefined;
      // One controller per request: aborted by its timeout or by close().
      const request = new AbortController();
      const onClose = (): void => request.abort();
      this.controller.signal.addEventListener('abort', onClose, { once: true });
      let timedOut = false;
      const deadline = setTimeout(() => {
        timedOut = true;
        request.abort();
      }, this.options.timeoutMs);
      try {
        const response = await fetch(this.options.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'user-agent': 'evinfra-dlq-processor' },
          body,
          signal: request.signal,
        });
        await response.body?.cancel();
        if (!response.ok) error = `HTTP ${response.status}`;
      } catch (caught) {
        const err = toError(caught);
        const cause = (err as { cause?: { code?: string } }).cause?.code;
        error = timedOut ? `timeout after ${this.options.timeoutMs} ms` : (cause ?? `${err.name}: ${err.message}`);
      } finally {
        clearTimeout(deadline);
        this.controller.signal.removeEventListener('abort', onClose);
      }
      const delivered = error === undefined;
      // Aborted by close(): no bookkeeping, the alert stays `pending` and the next start sends it.
      if (this.closed && !delivered) return;
      const done = delivered || attempt >= this.options.attempts;
      if (delivered) this.logger.info({ alertId: id, attempt }, 'alert webhook delivered');
      else this.logger.warn({ alertId: id, attempt, error, willRetry: !done }, 'alert webhook failed');
      await this.deps.onAttempt?.(id, { delivered, attempts: attempt, done, ...(error ? { lastError: error } : {}) }).catch((caught: unknown) => {
        this.logger.error({ err: toError(caught), alertId: id }, 'alert delivery bookkeeping failed');
      });
      if (done) return;
      const delayMs = Math.min(this.options.retryDelayMs * 2 ** (attempt - 1), this.options.maxDelayMs ?? 300_000);
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        if (!this.closed) this.attempt(id, body, attempt + 1);
      }, delayMs);
      this.timers.add(timer);
    })();
    this.inFlight.add(run);
    void run.finally(() => this.inFlight.delete(run));
  }

  /** Cancels scheduled retries and aborts requests in flight. Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.controller.abort();
    await Promise.allSettled([...this.inFlight]);
  }
}
