import { request as httpRequest, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import { z } from 'zod';
import { PermanentJobError, RetryableJobError, toError } from '@event-infra/shared';
import type { HandlerDefinition } from '../handler-registry';
import type { HostGuard } from '../host-guard';

const dataSchema = z.object({
  method: z.enum(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']).default('GET'),
  url: z.url(),
  headers: z.record(z.string(), z.string()).default({}),
  /** JSON body (objects/arrays/numbers are sent as JSON) or a string sent as-is. */
  body: z.unknown().optional(),
  /** Request timeout, ms (also bounded by the job's timeout). Default 30 s. */
  timeoutMs: z.number().int().positive().max(3_600_000).default(30_000),
});

export interface HttpRequestOptions {
  /** `HTTP_REQUEST_MAX_RESPONSE_BYTES`: response body bytes kept; the rest is never read. Default 64 KiB. */
  maxResponseBytes: number;
}

/** Headers the handler sets itself: a job cannot pick the Host it talks to or frame the body. */
const OWN_HEADERS = new Set(['host', 'content-length', 'transfer-encoding', 'connection', 'upgrade', 'keep-alive', 'te', 'trailer', 'proxy-connection']);

interface Answer {
  status: number;
  headers: Record<string, string>;
  text: string;
  truncated: boolean;
}

/** Reads at most `maxBytes` of the body, then destroys the response: nothing beyond the cap is buffered. */
function readCapped(response: IncomingMessage, maxBytes: number): Promise<{ text: string; truncated: boolean }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (truncated: boolean): void => {
      if (done) return;
      done = true;
      resolve({ text: Buffer.concat(chunks).toString('utf8'), truncated });
    };
    response.on('data', (chunk: Buffer) => {
      if (done) return;
      const room = maxBytes - size;
      if (chunk.length >= room) {
        // At the cap: keep what fits, stop reading and close the connection.
        if (room > 0) chunks.push(chunk.subarray(0, room));
        size = maxBytes;
        const truncated = chunk.length > room || response.readableLength > 0 || !response.complete;
        finish(truncated);
        response.destroy();
        return;
      }
      chunks.push(chunk);
      size += chunk.length;
    });
    response.once('end', () => finish(false));
    response.once('error', (err) => {
      if (!done) {
        done = true;
        reject(err);
      }
    });
    response.once('close', () => {
      if (!done && !response.complete) {
        done = true;
        reject(Object.assign(new Error('response ended before its body was complete'), { code: 'ECONNRESET' }));
      }
    });
  });
}

/** One request to the checked address (custom `lookup`: no second resolution of the name). */
function send(
  url: URL,
  method: string,
  headers: OutgoingHttpHeaders,
  body: string | undefined,
  target: { address: string; family: 4 | 6 },
  signal: AbortSignal,
  maxBytes: number,
): Promise<Answer> {
  const lookup: LookupFunction = (_hostname, options, callback) => {
    if ((options as { all?: boolean }).all) (callback as (err: null, list: { address: string; family: number }[]) => void)(null, [target]);
    else callback(null, target.address, target.family);
  };
  const requestFn = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise<Answer>((resolve, reject) => {
    const req = requestFn(
      {
        protocol: url.protocol,
        hostname: url.hostname.replace(/^\[(.*)\]$/, '$1'),
        port: url.port === '' ? undefined : Number(url.port),
        path: `${url.pathname}${url.search}`,
        method,
        headers,
        lookup,
        agent: false,
        signal,
      },
      (response) => {
        readCapped(response, maxBytes).then(
          ({ text, truncated }) => {
            const flat: Record<string, string> = {};
            for (const [name, value] of Object.entries(response.headers)) {
              if (value !== undefined) flat[name] = Array.isArray(value) ? value.join(', ') : value;
            }
            resolve({ status: response.statusCode ?? 0, headers: flat, text, truncated });
          },
          reject,
        );
      },
    );
    req.once('error', reject);
    req.end(body);
  });
}

/**
 * `http.request` `{method?, url, headers?, body?, timeoutMs?}`: calls an allowed host (see
 * `createHostGuard`) at the address the guard checked. 5xx, 429 and network errors are
 * retried; other 4xx, a refused host and invalid data are permanent. Redirects are not
 * followed (a 3xx is the result), so a redirect cannot lead outside the allow-list. The
 * response body is streamed and cut at `maxResponseBytes` (`truncated: true` in the result).
 */
export function httpRequestHandler(guard: HostGuard, options: HttpRequestOptions = { maxResponseBytes: 64 * 1024 }): HandlerDefinition {
  return {
    name: 'http.request',
    description: 'HTTP call to a host on HTTP_ALLOWED_HOSTS',
    async handler({ data, signal }) {
      const parsed = dataSchema.safeParse(data);
      if (!parsed.success) throw new PermanentJobError(`invalid http.request data: ${parsed.error.message}`, { code: 'invalid_data' });
      const request = parsed.data;
      const url = new URL(request.url);
      if (url.username !== '' || url.password !== '') {
        throw new PermanentJobError('http.request url must not carry credentials; send an authorization header instead', { code: 'invalid_data' });
      }
      const verdict = await guard(url);
      if (!verdict.allowed) throw new PermanentJobError(verdict.reason, { code: 'host_not_allowed' });
      const headers: OutgoingHttpHeaders = {};
      for (const [name, value] of Object.entries(request.headers)) {
        if (!OWN_HEADERS.has(name.toLowerCase())) headers[name.toLowerCase()] = value;
      }
      let body: string | undefined;
      if (request.body !== undefined && request.method !== 'GET' && request.method !== 'HEAD') {
        if (typeof request.body === 'string') body = request.body;
        else {
          body = JSON.stringify(request.body);
          headers['content-type'] ??= 'application/json';
        }
        headers['content-length'] = String(Buffer.byteLength(body));
      }
      const timeout = AbortSignal.timeout(request.timeoutMs);
      let answer: Answer;
      try {
        answer = await send(url, request.method, headers, body, verdict, AbortSignal.any([signal, timeout]), options.maxResponseBytes);
      } catch (caught) {
        // The job's own abort (timeout, cancel) wins over the network error it caused.
        if (signal.aborted) throw signal.reason;
        const err = toError(caught);
        if (err.name === 'TypeError' || (err as { code?: unknown }).code === 'ERR_INVALID_HTTP_TOKEN' || (err as { code?: unknown }).code === 'ERR_INVALID_CHAR') {
          throw new PermanentJobError(`invalid http.request data: ${err.message}`, { code: 'invalid_data' });
        }
        const ownCode = (err as { code?: unknown }).code;
        const code = timeout.aborted ? 'ETIMEDOUT' : typeof ownCode === 'string' ? ownCode : 'network_error';
        throw new RetryableJobError(`${request.method} ${url.host} failed: ${timeout.aborted ? 'timed out' : err.message}`, { code, cause: err });
      }
      if (answer.status >= 500 || answer.status === 429) {
        throw new RetryableJobError(`${request.method} ${url.host} answered ${answer.status}`, { status: answer.status, code: 'http_status' });
      }
      if (answer.status >= 400) {
        throw new PermanentJobError(`${request.method} ${url.host} answered ${answer.status}`, { status: answer.status, code: 'http_status' });
      }
      let responseBody: unknown = answer.text;
      if (!answer.truncated && (answer.headers['content-type'] ?? '').includes('json')) {
        try {
          responseBody = JSON.parse(answer.text);
        } catch {
          // A malformed JSON body is still worth keeping as text.
          responseBody = answer.text;
        }
      }
      return { status: answer.status, headers: answer.headers, body: responseBody, ...(answer.truncated ? { truncated: true } : {}) };
    },
  };
}
