import { toError, type Logger } from '@event-infra/shared';
import type { DlqStore } from './dlq-store';

export interface RetentionOptions {
  /** Finished entries older than this are removed, ms; 0 keeps them by age. */
  maxAgeMs: number;
  /** At most this many entries (oldest finished ones removed first); 0: no bound. */
  maxEntries: number;
  /** How often the sweep runs, ms. */
  intervalMs: number;
}

/** Runs the store's retention sweep periodically (and once at start). */
export class RetentionSweeper {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly options: RetentionOptions,
    private readonly deps: { store: DlqStore; logger: Logger },
  ) {}

  start(): void {
    this.tick();
    this.timer = setInterval(() => this.tick(), this.options.intervalMs);
  }

  /** One sweep; resolves with how many entries were removed. */
  async sweep(): Promise<number> {
    const cutoff = this.options.maxAgeMs > 0 ? Date.now() - this.options.maxAgeMs : undefined;
    const max = this.options.maxEntries > 0 ? this.options.maxEntries : undefined;
    const removed = await this.deps.store.sweep(cutoff, max);
    if (removed > 0) {
      await this.deps.store.increment('deleted', removed);
      this.deps.logger.info({ removed }, 'dlq retention removed entries');
    }
    return removed;
  }

  private tick(): void {
    if (this.running !== undefined) return;
    this.running = this.sweep()
      .then(() => undefined)
      .catch((caught: unknown) => this.deps.logger.warn({ err: toError(caught) }, 'dlq retention sweep failed'))
      .finally(() => {
        this.running = undefined;
      });
  }

  async close(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    await this.running;
  }
}
