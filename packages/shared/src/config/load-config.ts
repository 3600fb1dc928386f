import type { z } from 'zod';
import { placeholderSecretIssues } from './placeholder-secrets';

/** A configuration error: its message is one line naming each bad variable. */
export class ConfigError extends Error {
  readonly issues: readonly { variable: string; message: string }[];

  constructor(issues: readonly { variable: string; message: string }[]) {
    super(
      `invalid configuration: ${issues.map((issue) => `${issue.variable}: ${issue.message}`).join('; ')}`,
    );
    this.name = 'ConfigError';
    this.issues = issues;
  }
}

/**
 * Parses `env` with `schema` and freezes the result. Throws `ConfigError` naming every
 * variable that is missing or wrong. Values are never echoed: a secret could be one.
 * An empty variable counts as unset (Compose passes `${VAR}` of an unset VAR as ""): its
 * default applies, or it is reported as required; it never coerces to 0.
 * With `NODE_ENV=production`, a secret still holding the env example's placeholder
 * (`change-me-…`, see `placeholderSecretIssues`) is an error too.
 */
export function parseConfig<S extends z.ZodType>(
  schema: S,
  env: Record<string, string | undefined>,
): Readonly<z.output<S>> {
  const present: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) if (value !== undefined && value !== '') present[name] = value;
  const result = schema.safeParse(present);
  if (!result.success) {
    throw new ConfigError(
      result.error.issues.map((issue) => {
        const variable = issue.path.map(String).join('.') || '(environment)';
        const missing = present[variable] === undefined;
        return { variable, message: missing && issue.code === 'invalid_type' ? 'is required' : issue.message };
      }),
    );
  }
  const placeholders = placeholderSecretIssues(result.data);
  if (placeholders.length > 0) throw new ConfigError(placeholders);
  return Object.freeze(result.data) as Readonly<z.output<S>>;
}
