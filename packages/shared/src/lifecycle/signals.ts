import type { Logger } from '../logger';
import { toError } from '../errors';

export interface ShutdownOptions {
  logger: Logger;
  /** Graceful shutdown work: stop intake, drain, close connections. */
  shutdown: () => Promise<void>;
  /** After this many ms the process exits non-zero even if `shutdown` has not finished. */
  graceMs: number;
  /** Exit the process; injected so the behaviour can be exercised. Default `process.exit`. */
  exit?: (code: number) => void;
  signals?: readonly NodeJS.Signals[];
}

/**
 * First SIGTERM/SIGINT: graceful shutdown, exit 0 when it completes. A second signal, or the
 * grace deadline, exits 1 at once: unfinished work is left for another process to pick up.
 */
export function handleShutdownSignals(options: ShutdownOptions): () => void {
  const exit = options.exit ?? ((code: number) => process.exit(code));
  const signals = options.signals ?? (['SIGTERM', 'SIGINT'] as const);
  let shuttingDown = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (shuttingDown) {
      options.logger.warn({ signal }, 'second signal: exiting now');
      exit(1);
      return;
    }
    shuttingDown = true;
    options.logger.info({ signal, graceMs: options.graceMs }, 'shutting down');
    // +1 s on top of the grace period so components that honour graceMs themselves finish first.
    const deadline = setTimeout(() => {
      options.logger.error({ graceMs: options.graceMs }, 'grace period over: exiting now');
      exit(1);
    }, options.graceMs + 1_000);
    deadline.unref();
    options
      .shutdown()
      .then(() => {
        clearTimeout(deadline);
        options.logger.info('shutdown complete');
        exit(0);
      })
      .catch((caught: unknown) => {
        clearTimeout(deadline);
        options.logger.error({ err: toError(caught) }, 'shutdown failed');
        exit(1);
      });
  };
  for (const signal of signals) process.on(signal, onSignal);
  return () => {
    for (const signal of signals) process.off(signal, onSignal);
  };
}
