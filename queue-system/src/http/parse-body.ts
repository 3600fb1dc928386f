import type { z } from 'zod';
import { ValidationError } from '@event-infra/shared';
import { issuesOf } from './schemas';

/**
 * Parses a request body with `schema`; throws `ValidationError` (400) with the zod issues.
 * The message names the first issue (path and reason, never the value), so a bound that
 * was crossed is visible without reading `details`.
 */
export function parseBody<S extends z.ZodType>(schema: S, body: unknown, what = 'request body'): z.output<S> {
  const result = schema.safeParse(body);
  if (!result.success) {
    const issues = issuesOf(result.error);
    const first = issues[0];
    const hint = first === undefined ? '' : `: ${first.path === '' ? '' : `${first.path}: `}${first.message}`;
    throw new ValidationError(`invalid ${what}${hint}`, issues);
  }
  return result.data;
}
