import type { Logger } from '@event-infra/shared';

export interface AutoscalerOptions {
  /** Lag at or above which a loop is added once it lasted `sustainMs`. */
  scaleUpLag: number;
  /** Lag at or below which a loop is removed once it lasted `sustainMs`. */
  scaleDownLag: number;
  sustainMs: number;
}

export interface ScalablePool {
  readonly size: number;
  grow(): Promise<boolean>;
  shrink(): Promise<boolean>;
}

export interface AutoscalerDeps {
  pool: ScalablePool;
  /** Current lag of the group (entries not yet delivered). */
  sampleLag: () => Promise<number>;
  logger: Logger;
  now?: () => number;
}

/**
 * One scaling step per sustained condition: lag ≥ up for `sustainMs` adds a loop, lag ≤ down
 * for `sustainMs` removes one (the pool keeps its bounds); after a step the clock restarts,
 * so a burst grows the pool gradually and a quiet stream shrinks it gradually.
 */
export class Autoscaler {
  private highSince: number | undefined;
  private lowSince: number | undefined;
  lastLag: number | undefined;
  private readonly logger: Logger;
  private readonly now: () => number;

  constructor(
    private readonly options: AutoscalerOptions,
    private readonly deps: AutoscalerDeps,
  ) {
    this.logger = deps.logger.child({ component: 'autoscaler' });
    this.now = deps.now ?? Date.now;
  }

  /** Samples the lag and takes at most one step. Returns +1, -1 or 0. */
  async tick(): Promise<number> {
    const lag = await this.deps.sampleLag();
    this.lastLag = lag;
    const now = this.now();
    const { scaleUpLag, scaleDownLag, sustainMs } = this.options;
    this.highSince = lag >= scaleUpLag ? (this.highSince ?? now) : undefined;
    this.lowSince = lag <= scaleDownLag ? (this.lowSince ?? now) : undefined;
    if (this.highSince !== undefined && now - this.highSince >= sustainMs) {
      this.highSince = now;
      if (await this.deps.pool.grow()) {
        this.logger.info({ lag, loops: this.deps.pool.size }, 'scaled up');
        return 1;
      }
    }
    if (this.lowSince !== undefined && now - this.lowSince >= sustainMs) {
      this.lowSince = now;
      if (await this.deps.pool.shrink()) {
        this.logger.info({ lag, loops: this.deps.pool.size }, 'scaled down');
        return -1;
      }
    }
    return 0;
  }
}
