/**
 * Autoscaler steps against a real in-memory pool with bounds and a controlled clock: one step
 * per sustained condition, the clock restarting after each step.
 */
import { describe, expect, it } from 'vitest';
import { silentLogger } from '@event-infra/testing';
import { Autoscaler, type ScalablePool } from '../src/core/autoscaler';

/** A pool of plain counters within [min, max]. */
class BoundedPool implements ScalablePool {
  constructor(
    public size: number,
    private readonly min: number,
    private readonly max: number,
  ) {}
  async grow(): Promise<boolean> {
    if (this.size >= this.max) return false;
    this.size += 1;
    return true;
  }
  async shrink(): Promise<boolean> {
    if (this.size <= this.min) return false;
    this.size -= 1;
    return true;
  }
}

function scaler(pool: ScalablePool, lags: number[], sustainMs = 1000) {
  let now = 10_000;
  let lag = 0;
  const autoscaler = new Autoscaler(
    { scaleUpLag: 100, scaleDownLag: 10, sustainMs },
    { pool, sampleLag: async () => (lag = lags.shift() ?? lag), logger: silentLogger(), now: () => now },
  );
  return {
    autoscaler,
    /** Advances the clock by `ms`, then ticks. */
    tick: async (ms: number) => {
      now += ms;
      return autoscaler.tick();
    },
  };
}

describe('autoscaler', () => {
  it('grows once the lag stayed at or above the threshold for sustainMs, then waits sustainMs again', async () => {
    const pool = new BoundedPool(1, 1, 3);
    const { autoscaler, tick } = scaler(pool, [100, 100, 500, 500, 500]);
    expect(await tick(0)).toBe(0);
    expect(autoscaler.lastLag).toBe(100);
    expect(await tick(999)).toBe(0);
    expect(await tick(1)).toBe(1);
    expect(pool.size).toBe(2);
    expect(await tick(999)).toBe(0);
    expect(await tick(1)).toBe(1);
    expect(pool.size).toBe(3);
  });

  it('a dip below the threshold restarts the clock', async () => {
    const pool = new BoundedPool(1, 1, 3);
    const { tick } = scaler(pool, [200, 99, 200, 200]);
    expect(await tick(0)).toBe(0);
    expect(await tick(900)).toBe(0);
    expect(await tick(900)).toBe(0);
    expect(await tick(900)).toBe(0);
    expect(pool.size).toBe(1);
  });

  it('shrinks once the lag stayed at or below the low threshold, never below the pool minimum', async () => {
    const pool = new BoundedPool(2, 1, 3);
    const { tick } = scaler(pool, [10, 10, 0, 0, 0]);
    expect(await tick(0)).toBe(0);
    expect(await tick(1000)).toBe(-1);
    expect(pool.size).toBe(1);
    expect(await tick(1000)).toBe(0);
    expect(await tick(1000)).toBe(0);
    expect(pool.size).toBe(1);
  });

  it('between the thresholds nothing changes; at max a sustained high lag does not step', async () => {
    const middle = new BoundedPool(2, 1, 3);
    const a = scaler(middle, [50, 50, 11, 99]);
    for (let i = 0; i < 4; i += 1) expect(await a.tick(2000)).toBe(0);
    expect(middle.size).toBe(2);

    const full = new BoundedPool(3, 1, 3);
    const b = scaler(full, [1000, 1000, 1000]);
    expect(await b.tick(0)).toBe(0);
    expect(await b.tick(5000)).toBe(0);
    expect(full.size).toBe(3);
  });

  it('with sustainMs 0 it steps on the first sample', async () => {
    const pool = new BoundedPool(1, 1, 3);
    const { tick } = scaler(pool, [150], 0);
    expect(await tick(0)).toBe(1);
  });
});
