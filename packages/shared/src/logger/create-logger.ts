import { redactText } from '../errors/redact';
import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';

export type { Logger } from 'pino';

/** Paths whose values never reach a log line. */
export const REDACT_PATHS = [
  'password',
  '*.password',
  'apiKey',
  '*.apiKey',
  'API_KEY',
  '*.API_KEY',
  'authorization',
  '*.authorization',
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  '*.headers.authorization',
  '*.redisUrl',
  'redisUrl',
  '*.REDIS_URL',
  '*.REDIS_STREAMS_URL',
  '*.REDIS_QUEUE_URL',
  '*.REDIS_PASSWORD',
  '*.REDIS_STREAMS_PASSWORD',
  '*.REDIS_QUEUE_PASSWORD',
  '*.ADMIN_PASSWORD',
  // The same variables at the top level: a configuration logged as `log.info(config)`.
  'REDIS_URL',
  'REDIS_STREAMS_URL',
  'REDIS_QUEUE_URL',
  'REDIS_PASSWORD',
  'REDIS_STREAMS_PASSWORD',
  'REDIS_QUEUE_PASSWORD',
  'ADMIN_PASSWORD',
];

export interface LoggerSettings {
  service: string;
  /** Default `info`. */
  level?: string;
  /** Pretty output through pino-pretty (development only). Default false: JSON lines. */
  pretty?: boolean;
  /** Where lines go; default stdout. Tests pass a stream to read the lines back. */
  destination?: DestinationStream;
  /** Secret values removed from error messages and stacks (`secretsOf(config)`); URL credentials always are. */
  secrets?: readonly string[];
}

/** Root logger of a service: JSON lines on stdout, `service` bound, secrets redacted. */
export function createLogger(settings: LoggerSettings): Logger {
  const secrets = settings.secrets ?? [];
  const options: LoggerOptions = {
    level: settings.level ?? 'info',
    base: { service: settings.service },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
    serializers: {
      // Error messages can carry what no redact path covers (a URL with credentials, a key).
      err: (err: Error) => {
        const raw = pino.stdSerializers.err(err) as unknown;
        if (typeof raw !== 'object' || raw === null) return raw;
        const serialized = { ...(raw as Record<string, unknown>) };
        for (const field of ['message', 'stack'] as const) {
          const value = serialized[field];
          if (typeof value === 'string') serialized[field] = redactText(value, secrets);
        }
        return serialized;
      },
    },
  };
  if (settings.pretty && settings.destination === undefined) {
    return pino({ ...options, transport: { target: 'pino-pretty', options: { colorize: true } } });
  }
  return settings.destination ? pino(options, settings.destination) : pino(options);
}
