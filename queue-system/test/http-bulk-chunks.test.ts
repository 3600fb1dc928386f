/**
 * A bulk of several `BULK_CHUNK`s over real HTTP (issue #12: the submitter adds a bulk in
 * chunks so that BullMQ's per-job objects die young): every job stored once, the answer in
 * the request's order, an existing `jobId` flagged where it stands, whichever chunk holds it.
 */
import { describe, expect, it } from 'vitest';
import { BULK_CHUNK } from '../src/core/job-submitter';
import { processorPerFile, request } from './support/processor';

const KEY = 'bulk-chunks-key-7c2e';
const auth = { authorization: `Bearer ${KEY}` };
const Q = 'async-processing';

describe('bulk intake in chunks (HTTP)', () => {
  const started = processorPerFile({ QUEUE_ENABLED: 'false', API_KEY: KEY });

  it('a bulk over several chunks: ids in order, existing ids flagged in any chunk, each job stored once', async () => {
    const count = BULK_CHUNK * 2 + BULK_CHUNK / 2;
    // Existing ids in the first, the last and a middle chunk, and at a chunk's first index.
    const existingAt = [0, BULK_CHUNK, count - 1];
    for (const index of existingAt) {
      const first = await request(started.app.url, 'POST', `/jobs/${Q}`, { headers: auth, body: { name: 'demo.sleep', data: { v: 'old' }, opts: { jobId: `id-${index}`, delay: 60_000 } } });
      expect(first.status).toBe(201);
    }
    // Every third job names its id; the others get BullMQ's.
    const jobs = Array.from({ length: count }, (_, n) => ({ name: 'demo.sleep', data: { n }, ...(n % 3 === 0 || existingAt.includes(n) ? { opts: { jobId: `id-${n}` } } : {}) }));
    const reply = await request(started.app.url, 'POST', `/jobs/${Q}/bulk`, { headers: auth, body: { jobs } });
    expect(reply.status).toBe(201);
    expect(reply.body.jobs).toHaveLength(count);
    const flagged = (reply.body.jobs as { existing?: boolean }[]).flatMap((job, n) => (job.existing ? [n] : []));
    expect(flagged).toEqual(existingAt);
    const queue = started.inspect.queue(Q);
    expect(await queue.count()).toBe(count);
    for (const [n, answered] of (reply.body.jobs as { id: string; name: string; queue: string }[]).entries()) {
      expect(answered).toMatchObject({ queue: Q, name: 'demo.sleep' });
      if (jobs[n]!.opts) expect(answered.id).toBe(`id-${n}`);
      const stored = await queue.getJob(answered.id);
      expect(stored?.data).toMatchObject(existingAt.includes(n) ? { v: 'old' } : { n });
    }
    // In the request's order: BullMQ's own ids are increasing along the bulk.
    const generated = (reply.body.jobs as { id: string }[]).filter((_, n) => !jobs[n]!.opts).map((job) => Number(job.id));
    expect(generated).toEqual([...generated].sort((a, b) => a - b));
    expect(new Set(generated).size).toBe(generated.length);
  });
});
