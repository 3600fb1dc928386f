import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { ConfigError, createLogger, parseConfig, type Logger } from '@event-infra/shared';

/** A name unique to this test: queues, streams and groups never collide between tests. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(5).toString('hex')}`;
}

/**
 * Polls `check` until it returns a truthy value (returned) or `timeoutMs` passes (throws
 * with `what`). Tests wait for a condition, never for a fixed time.
 */
export async function waitFor<T>(
  check: () => T | Promise<T>,
  what: string,
  { timeoutMs = 10_000, intervalMs = 25 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value as NonNullable<T>;
    } catch (caught) {
      lastError = caught;
    }
    if (Date.now() > deadline) {
      const suffix = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${suffix}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

export interface CapturedLogger {
  logger: Logger;
  /** Parsed JSON lines written so far. */
  lines: Record<string, unknown>[];
  /** Raw text written so far (for "no secret in the logs" checks). */
  text: () => string;
}

/** A real pino logger whose lines are kept in memory for assertions. */
export function captureLogger(service = 'test', level = 'debug'): CapturedLogger {
  const chunks: string[] = [];
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      const text = chunk.toString();
      chunks.push(text);
      for (const line of text.split('\n')) if (line.trim() !== '') lines.push(JSON.parse(line) as Record<string, unknown>);
      callback();
    },
  });
  return { logger: createLogger({ service, level, destination }), lines, text: () => chunks.join('') };
}

/** A logger that writes nothing: for tests that do not look at logs. */
export function silentLogger(): Logger {
  return createLogger({ service: 'test', level: 'silent' });
}

/**
 * Parses `env` with `schema` and returns the ConfigError it must throw; throws when it accepts
 * the environment or fails any other way.
 */
export function configErrorOf(schema: Parameters<typeof parseConfig>[0], env: Record<string, string | undefined>): ConfigError {
  try {
    parseConfig(schema, env);
  } catch (caught) {
    if (caught instanceof ConfigError) return caught;
    throw caught;
  }
  throw new Error('parseConfig accepted an environment it should refuse');
}
