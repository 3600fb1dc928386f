import type { RedisServer } from '@event-infra/testing';

/** One line of the benchmark table. */
export interface BenchRow {
  /** What was measured, e.g. `publishBatch events/s`. */
  metric: string;
  value: number;
  unit: string;
  /** The baseline measured in the same run on the same Redis, e.g. `raw pipelined XADD`. */
  baseline?: string;
  baselineValue?: number;
  /**
   * Target ratio value/baseline (higher is better) or, with `lowerIsBetter`, the ceiling
   * for the value itself (latency).
   */
  target?: number;
  lowerIsBetter?: boolean;
  /** With `lowerIsBetter` and a baseline: the ceiling for value/baseline (peak RSS rows). */
  maxRatio?: number;
  note?: string;
}

export interface BenchContext {
  /** A fresh redis-server (password on, no persistence) for this suite, stopped after it. */
  redis: RedisServer;
  /** Scale factor from BENCH_SCALE (default 1): lower it for a quick look. */
  scale: number;
}

export interface BenchSuite {
  name: string;
  run(context: BenchContext): Promise<BenchRow[]>;
}
