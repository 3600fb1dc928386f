/**
 * Placeholder secrets of `env-example-event-infrastructure` (`change-me-master`, …): fine on
 * a laptop, refused in production. `parseConfig` applies the check to every service's config.
 */

/** Values starting with this (any case) are the example's placeholders, never real secrets. */
export const PLACEHOLDER_SECRET_PREFIX = 'change-me';

/** A variable holds a secret when its name ends with one of these (or is `API_KEY`). */
const SECRET_NAME = /(^API_KEY$|_PASSWORD$|_SECRET$|_TOKEN$)/;
/** URL variables may carry a password (`redis://:secret@host`); that one is checked too. */
const URL_NAME = /_URL$/;

function isPlaceholder(value: string): boolean {
  return value.trim().toLowerCase().startsWith(PLACEHOLDER_SECRET_PREFIX);
}

function urlPassword(value: string): string | undefined {
  try {
    const password = new URL(value).password;
    return password === '' ? undefined : decodeURIComponent(password);
  } catch {
    // Not a URL: its own schema reports it; nothing to check here.
    return undefined;
  }
}

/**
 * The variables of a parsed config that still hold a placeholder secret while
 * `NODE_ENV=production`; empty otherwise (development and test accept the example as it is).
 * Messages never contain the value.
 */
export function placeholderSecretIssues(config: unknown): { variable: string; message: string }[] {
  if (typeof config !== 'object' || config === null) return [];
  const values = config as Record<string, unknown>;
  if (values.NODE_ENV !== 'production') return [];
  const issues: { variable: string; message: string }[] = [];
  for (const [variable, value] of Object.entries(values)) {
    if (typeof value !== 'string') continue;
    const secret = SECRET_NAME.test(variable) ? value : URL_NAME.test(variable) ? urlPassword(value) : undefined;
    if (secret !== undefined && isPlaceholder(secret)) {
      issues.push({
        variable,
        message: `is the example's placeholder (${PLACEHOLDER_SECRET_PREFIX}-…): set a real secret for NODE_ENV=production`,
      });
    }
  }
  return issues;
}
