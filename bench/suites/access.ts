/**
 * Access check and audit cost on `POST /jobs/:queue` (issue 13): p50/p99 of sequential
 * submissions by a service principal (API key, Bearer: not audited) and by a human principal
 * (ADMIN_USERS, Basic: one audit XADD on the master before the add), alternating request by
 * request on one processor, both keys hashed with the production scrypt parameters. Also the
 * first request of each credential (scrypt verification, before the cache has it) and an open
 * processor (no credentials configured) as the floor. Both principals are admins, so neither
 * writes an owner record (a `publisher` key does: one more SET on the queue Redis).
 */
import { Redis } from 'ioredis';
import { AUDIT_STREAM, createLogger, hashSecret } from '@event-infra/shared';
import { percentile } from '../lib/stats';
import type { BenchRow, BenchSuite } from '../types';
import { loadConfig } from '../../queue-system/src/config';
import { startQueueProcessor } from '../../queue-system/src/service';

const QUEUE = 'async-processing';
const BODY = JSON.stringify({ name: 'demo.sleep', data: { durationMs: 1 } });

async function post(url: string, authorization: string | undefined): Promise<number> {
  const started = performance.now();
  const response = await fetch(`${url}/jobs/${QUEUE}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(authorization !== undefined ? { authorization } : {}) },
    body: BODY,
  });
  await response.arrayBuffer();
  if (response.status !== 201) throw new Error(`POST answered ${response.status}`);
  return performance.now() - started;
}

const suite: BenchSuite = {
  name: 'access',
  async run({ redis, scale }) {
    const logger = createLogger({ service: 'bench', level: 'silent' });
    const key = 'bench-service-key-0123456789abcdef';
    const password = 'bench-person-password';
    const base = { LOG_LEVEL: 'silent', REDIS_URL: redis.url, REDIS_QUEUE_URL: redis.url, REDIS_STREAMS_URL: redis.url, QUEUE_PROCESSOR_PORT: '0', QUEUE_ENABLED: 'false' };
    const guarded = await startQueueProcessor(
      loadConfig({ ...base, API_KEYS: `svc:admin:${await hashSecret(key)}`, ADMIN_USERS: `ada:admin:${await hashSecret(password)}` }),
      logger,
    );
    const open = await startQueueProcessor(loadConfig(base), logger);
    const rows: BenchRow[] = [];
    try {
      const bearer = `Bearer ${key}`;
      const basic = `Basic ${Buffer.from(`ada:${password}`).toString('base64')}`;
      const firstService = await post(guarded.url, bearer);
      const firstHuman = await post(guarded.url, basic);
      const requests = Math.max(200, Math.round(2000 * scale));
      const service: number[] = [];
      const human: number[] = [];
      const floor: number[] = [];
      for (let index = 0; index < requests; index += 1) {
        // Rotating the order so no side always follows the same one.
        const order = [() => post(guarded.url, bearer).then((ms) => service.push(ms)), () => post(guarded.url, basic).then((ms) => human.push(ms)), () => post(open.url, undefined).then((ms) => floor.push(ms))];
        for (let step = 0; step < 3; step += 1) await order[(index + step) % 3]!();
      }
      for (const list of [service, human, floor]) list.sort((a, b) => a - b);
      const master = new Redis(redis.url);
      const audited = await master.xlen(AUDIT_STREAM);
      master.disconnect();
      // One record per human submission (the first one included), none for the service key's.
      if (audited !== requests + 1) throw new Error(`expected ${requests + 1} audit records, found ${audited}`);
      for (const p of [50, 99]) {
        rows.push({
          metric: `POST /jobs p${p}, human principal (Basic, audited), ${requests} sequential`,
          value: percentile(human, p),
          unit: 'ms',
          baseline: `service API key (Bearer, not audited) p${p}`,
          baselineValue: percentile(service, p),
          lowerIsBetter: true,
          note: `open processor (no credentials) p${p} ${percentile(floor, p).toFixed(2)} ms; ${audited} audit records written`,
        });
      }
      rows.push({
        metric: 'first request of a credential (scrypt N=32768, then cached)',
        value: Math.max(firstService, firstHuman),
        unit: 'ms',
        note: `API key ${firstService.toFixed(1)} ms, user ${firstHuman.toFixed(1)} ms`,
        lowerIsBetter: true,
      });
    } finally {
      await guarded.close();
      await open.close();
    }
    return rows;
  },
};

export default suite;
