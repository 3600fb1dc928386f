/**
 * True when an error means "a Redis cannot be reached right now" rather than a bug: a
 * producer-profile client refusing commands while disconnected, a connection reset or
 * refused, a reply that timed out, or Redis still loading its AOF after a restart. The HTTP
 * layer answers these with 503 so that clients retry, instead of 500.
 */
export function isRedisUnavailable(err: unknown, depth = 0): boolean {
  if (typeof err !== 'object' || err === null || depth > 3) return false;
  const { name, code, message } = err as { name?: unknown; code?: unknown; message?: unknown };
  if (name === 'MaxRetriesPerRequestError') return true;
  if (typeof code === 'string' && ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTCONN', 'EHOSTUNREACH'].includes(code)) {
    return true;
  }
  if (typeof message === 'string' && UNAVAILABLE_MESSAGES.some((pattern) => pattern.test(message))) return true;
  // A PublishError or a wrapped error: look at what it carries.
  const failed = (err as { failed?: unknown }).failed;
  if (Array.isArray(failed) && failed.length > 0) return isRedisUnavailable((failed[0] as { error?: unknown }).error, depth + 1);
  return isRedisUnavailable((err as { cause?: unknown }).cause, depth + 1);
}

const UNAVAILABLE_MESSAGES = [
  /Stream isn't writeable/,
  /Connection is closed/,
  /Command timed out/,
  /^LOADING\b/,
  /connect ECONNREFUSED/,
  /read ECONNRESET/,
  // Redis Cluster during a failover: a slot without a master, or a client that gave up following it.
  /^CLUSTERDOWN\b/,
  /^TRYAGAIN\b/,
  /^Too many Cluster redirections/,
  /Cluster isn't ready/,
];
