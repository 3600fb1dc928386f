import { z } from 'zod';
import { PermanentJobError, RetryableJobError, toError } from '@event-infra/shared';
import type { HandlerDefinition } from '../handler-registry';
import type { createHostGuard } from '../host-guard';

const dataSchema = z.object({
  method: z.enum(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']).default('GET'),
  url: z.url(),
  headers: z.record(z.string(), z.string()).default({}),
  /** JSON body (objects/arrays/numbers are sent as JSON) or a string sent as-is. */
  body: z.unknown().optional(),
  /** Request timeout, ms (also bounded by the job's timeout). Default 30 s. */
  timeoutMs: z.number().int().positive().max(3_600_000).default(30_000),
});

/** Response bodies kept in the job result, characters. */
const MAX_BODY_CHARS = 64 * 1024;

/**
 * `http.request` `{method?, url, headers?, body?, timeoutMs?}`: calls an allowed host (see
 * `createHostGuard`). 5xx, 429 and network errors are retried; other 4xx, a refused host and
 * invalid data are permanent. Redirects are not followed (a 3xx is the result), so a
 * redirect cannot lead outside the allow-list.
 */
export function httpRequestHandler(guard: ReturnType<typeof createHostGuard>): HandlerDefinition {
  return {
    name: 'http.request',
    description: 'HTTP call to a host on HTTP_ALLOWED_HOSTS',
    async handler({ data, signal }) {
      const parsed = dataSchema.safeParse(data);
      if (!parsed.success) throw new PermanentJobError(`invalid http.request data: ${parsed.error.message}`, { code: 'invalid_data' });
      const request = parsed.data;
      const url = new URL(request.url);
      const verdict = await guard(url);
      if (!verdict.allowed) throw new PermanentJobError(verdict.reason, { code: 'host_not_allowed' });
      const headers = new Headers(request.headers);
      let body: string | undefined;
      if (request.body !== undefined && request.method !== 'GET' && request.method !== 'HEAD') {
        if (typeof request.body === 'string') body = request.body;
        else {
          body = JSON.stringify(request.body);
          if (!headers.has('content-type')) headers.set('content-type', 'application/json');
        }
      }
      let response: Response;
      try {
        response = await fetch(url, {
          method: request.method,
          headers,
          body,
          redirect: 'manual',
          signal: AbortSignal.any([signal, AbortSignal.timeout(request.timeoutMs)]),
        });
      } catch (caught) {
        // The job's own abort (timeout, cancel) wins over the network error it caused.
        if (signal.aborted) throw signal.reason;
        const err = toError(caught);
        const cause = (err as { cause?: { code?: unknown } }).cause;
        const code = err.name === 'TimeoutError' ? 'ETIMEDOUT' : typeof cause?.code === 'string' ? cause.code : 'network_error';
        throw new RetryableJobError(`${request.method} ${url.host} failed: ${err.message}`, { code, cause: err });
      }
      const text = (await response.text()).slice(0, MAX_BODY_CHARS);
      if (response.status >= 500 || response.status === 429) {
        throw new RetryableJobError(`${request.method} ${url.host} answered ${response.status}`, { status: response.status, code: 'http_status' });
      }
      if (response.status >= 400) {
        throw new PermanentJobError(`${request.method} ${url.host} answered ${response.status}`, { status: response.status, code: 'http_status' });
      }
      let responseBody: unknown = text;
      if ((response.headers.get('content-type') ?? '').includes('json')) {
        try {
          responseBody = JSON.parse(text);
        } catch {
          // A truncated or malformed JSON body is still worth keeping as text.
          responseBody = text;
        }
      }
      return { status: response.status, headers: Object.fromEntries(response.headers), body: responseBody };
    },
  };
}
