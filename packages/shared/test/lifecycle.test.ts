import { describe, expect, it } from 'vitest';
import { createCloser, handleShutdownSignals } from '@event-infra/shared';
import { captureLogger, waitFor } from '@event-infra/testing';

describe('createCloser', () => {
  it('runs the steps once, in order, each awaited before the next', async () => {
    const { logger } = captureLogger();
    const order: string[] = [];
    let built = 0;
    const close = createCloser(() => {
      built += 1;
      return [
        {
          name: 'http',
          run: async () => {
            await new Promise((resolve) => setImmediate(resolve));
            order.push('http');
          },
        },
        { name: 'workers', run: () => void order.push('workers') },
        { name: 'redis', run: async () => void order.push('redis') },
      ];
    }, logger);
    await close();
    expect(order).toEqual(['http', 'workers', 'redis']);
    await close();
    expect(order).toEqual(['http', 'workers', 'redis']);
    expect(built).toBe(1);
  });

  it('a failing step is logged and does not skip the steps after it', async () => {
    const { logger, lines } = captureLogger();
    const order: string[] = [];
    const close = createCloser(
      () => [
        { name: 'first', run: () => void order.push('first') },
        {
          name: 'broken',
          run: async () => {
            throw new Error('socket already gone');
          },
        },
        {
          name: 'sync-throw',
          run: () => {
            throw 'not even an Error';
          },
        },
        { name: 'last', run: () => void order.push('last') },
      ],
      logger,
    );
    await expect(close()).resolves.toBeUndefined();
    expect(order).toEqual(['first', 'last']);
    const failures = lines.filter((line) => line.msg === 'close step failed');
    expect(failures.map((line) => line.step)).toEqual(['broken', 'sync-throw']);
    expect((failures[0]!.err as { message: string }).message).toBe('socket already gone');
    expect((failures[1]!.err as { message: string }).message).toBe('not even an Error');
  });

  it('returns the same promise on repeat, also while the first close is running', async () => {
    const { logger } = captureLogger();
    let finish: () => void = () => undefined;
    let runs = 0;
    const close = createCloser(
      () => [
        {
          name: 'slow',
          run: () =>
            new Promise<void>((resolve) => {
              runs += 1;
              finish = resolve;
            }),
        },
      ],
      logger,
    );
    const first = close();
    const second = close();
    expect(second).toBe(first);
    finish();
    await first;
    expect(close()).toBe(first);
    expect(runs).toBe(1);
  });
});

describe('handleShutdownSignals', () => {
  // SIGUSR2 emitted on `process` (not delivered by the OS): no real signal reaches vitest.
  const signals = ['SIGUSR2'] as const;

  it('first signal: graceful shutdown then exit 0; a second signal exits 1 at once', async () => {
    const { logger, lines } = captureLogger();
    const exits: number[] = [];
    let finish: () => void = () => undefined;
    const detach = handleShutdownSignals({
      logger,
      graceMs: 60_000,
      signals,
      exit: (code) => exits.push(code),
      shutdown: () =>
        new Promise<void>((resolve) => {
          finish = resolve;
        }),
    });
    try {
      process.emit('SIGUSR2', 'SIGUSR2');
      expect(lines.some((line) => line.msg === 'shutting down')).toBe(true);
      process.emit('SIGUSR2', 'SIGUSR2');
      expect(exits).toEqual([1]);
      finish();
      await waitFor(() => exits.length === 2, 'graceful exit');
      expect(exits).toEqual([1, 0]);
    } finally {
      detach();
    }
  });

  it('a shutdown that fails, or outlives the grace period, exits 1', async () => {
    const { logger, lines } = captureLogger();
    const exits: number[] = [];
    const detach = handleShutdownSignals({
      logger,
      graceMs: 0,
      signals,
      exit: (code) => exits.push(code),
      shutdown: () => new Promise<void>(() => undefined),
    });
    try {
      process.emit('SIGUSR2', 'SIGUSR2');
      await waitFor(() => exits.length > 0, 'the grace deadline', { timeoutMs: 5_000 });
      expect(exits).toEqual([1]);
      expect(lines.some((line) => line.msg === 'grace period over: exiting now')).toBe(true);
    } finally {
      detach();
    }
    const failing = captureLogger();
    const codes: number[] = [];
    const detachFailing = handleShutdownSignals({
      logger: failing.logger,
      graceMs: 60_000,
      signals,
      exit: (code) => codes.push(code),
      shutdown: async () => {
        throw new Error('queue close failed');
      },
    });
    try {
      process.emit('SIGUSR2', 'SIGUSR2');
      await waitFor(() => codes.length > 0, 'the failed shutdown to exit');
      expect(codes).toEqual([1]);
    } finally {
      detachFailing();
    }
  });
});
