import type { Logger } from '../logger';
import { secretsOf } from '../errors/redact';
import { createLogger } from '../logger';
import { ConfigError, type CommonConfig } from '../config';
import { toError } from '../errors';
import { handleShutdownSignals } from './signals';

export interface ServiceHandle {
  /** Graceful stop: stop intake, finish work within the grace period, close connections. */
  close(): Promise<void>;
}

export interface RunServiceOptions<C extends CommonConfig> {
  service: string;
  loadConfig: (env: Record<string, string | undefined>) => C;
  start: (config: C, logger: Logger) => Promise<ServiceHandle>;
}

/**
 * The composition-root routine every service's `main.ts` calls: parse the environment once
 * (a bad value: one line on stderr naming the variable, exit 1), build the root logger,
 * start, and handle SIGTERM/SIGINT (first graceful, second or grace deadline forceful).
 */
export async function runService<C extends CommonConfig>(options: RunServiceOptions<C>): Promise<void> {
  let config: C;
  try {
    config = options.loadConfig(process.env);
  } catch (caught) {
    const message = caught instanceof ConfigError ? caught.message : toError(caught).message;
    process.stderr.write(`${options.service}: ${message}\n`);
    process.exit(1);
  }
  const logger = createLogger({
    service: options.service,
    level: config.LOG_LEVEL,
    pretty: config.LOG_PRETTY,
    secrets: secretsOf(config as unknown as Record<string, unknown>),
  });
  process.on('unhandledRejection', (reason) => {
    logger.error({ err: toError(reason) }, 'unhandled rejection');
  });
  let handle: ServiceHandle;
  try {
    handle = await options.start(config, logger);
  } catch (caught) {
    const err = toError(caught);
    logger.fatal({ err }, 'failed to start');
    process.stderr.write(`${options.service}: failed to start: ${err.message}\n`);
    // Let pino flush the fatal line before exiting.
    setTimeout(() => process.exit(1), 100).unref();
    process.exitCode = 1;
    return;
  }
  handleShutdownSignals({ logger, graceMs: config.SHUTDOWN_GRACE_MS, shutdown: () => handle.close() });
}
