/** What replaces a removed secret. */
export const REDACTED = '[redacted]';

/** `scheme://user:password@` or `scheme://token@` in free text. */
const URL_CREDENTIALS = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/@?#]+@/gi;

/** Secrets shorter than this are not searched for (they would match ordinary words). */
const MIN_SECRET_LENGTH = 4;

/**
 * Removes URL credentials (`redis://:pw@host` → `redis://[redacted]@host`) and every
 * configured secret from `text`. Used on error messages before they are logged, stored on a
 * job or a DLQ entry, or answered.
 */
export function redactText(text: string, secrets: readonly string[] = []): string {
  let result = text.replace(URL_CREDENTIALS, `$1${REDACTED}@`);
  for (const secret of secrets) {
    if (secret.length < MIN_SECRET_LENGTH) continue;
    result = result.split(secret).join(REDACTED);
    const encoded = encodeURIComponent(secret);
    if (encoded !== secret) result = result.split(encoded).join(REDACTED);
  }
  return result;
}

/** Redacts `error.message` and `error.stack` in place (and returns the error). */
export function redactError<E extends Error>(error: E, secrets: readonly string[] = []): E {
  const message = redactText(error.message, secrets);
  if (message !== error.message) error.message = message;
  if (error.stack !== undefined) {
    const stack = redactText(error.stack, secrets);
    if (stack !== error.stack) error.stack = stack;
  }
  return error;
}

/**
 * The secrets of a service configuration: the API key, admin password, Redis passwords and
 * the passwords inside Redis URLs. Every variable whose name ends in `_PASSWORD`, `_KEY`,
 * `_SECRET` or `_TOKEN` counts, so a new secret variable is covered without a list to update.
 */
export function secretsOf(config: Readonly<Record<string, unknown>>): string[] {
  const found = new Set<string>();
  for (const [name, value] of Object.entries(config)) {
    if (typeof value !== 'string' || value === '') continue;
    if (/(_PASSWORD|_KEY|_SECRET|_TOKEN)$/.test(name)) found.add(value);
    if (name.endsWith('_URL')) {
      try {
        const url = new URL(value);
        if (url.password !== '') found.add(decodeURIComponent(url.password));
        if (url.username !== '' && url.password === '') found.add(decodeURIComponent(url.username));
      } catch {
        // Not a URL: nothing inside it to collect.
      }
    }
  }
  return [...found];
}
