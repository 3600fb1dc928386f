import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { BULL_PREFIX, DLQ_META_KEY } from '@event-infra/shared';
import { captureLogger, silentLogger, testPrincipals, uniqueName, waitFor, type CapturedLogger, type TestPrincipal } from '@event-infra/testing';
import { RedriveRunner } from '../src/core/redrive-runner';
import { RedriveTaskStore, TaskConflictError } from '../src/core/redrive-task';
import { startDlqFixture, type DlqFixture } from './support/dlq-harness';
import { putEntries, storedEntry } from './support/stored-entries';

describe('edit-then-retry and bulk redrive tasks (real Redis, real HTTP)', () => {
  let fx: DlqFixture;
  let master: Redis;
  let streams: Redis;
  let principals: Awaited<ReturnType<typeof testPrincipals>>;
  /** The processor's log: the runner says when it stopped a task. */
  let log: CapturedLogger;
  const queues: Queue[] = [];
  const as = async (who: TestPrincipal, method: string, path: string, body?: unknown) => {
    const headers: Record<string, string> = { authorization: who.authorization };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const response = await fetch(`${fx.processor.url}${path}`, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
    const text = await response.text();
    return { status: response.status, body: text === '' ? undefined : JSON.parse(text), location: response.headers.get('location') };
  };
  const queueOf = (name: string): Queue => {
    const queue = new Queue(name, { connection: fx.queueRedis, prefix: BULL_PREFIX });
    queues.push(queue);
    return queue;
  };
  const audit = async (query: string) => (await as(principals.keys.viewer, 'GET', `/audit?limit=500${query}`)).body.items as any[];

  beforeAll(async () => {
    principals = await testPrincipals();
    log = captureLogger('dlq-processor', 'info');
    fx = await startDlqFixture({ DLQ_MAX_RETRIES: '0', DLQ_REDRIVE_POLL_MS: '200', DLQ_REDRIVE_MAX_RATE: '1000', ...principals.env }, log.logger);
    master = new Redis(fx.master.url);
    streams = new Redis(fx.env.REDIS_STREAMS_URL!);
  });
  afterAll(async () => {
    for (const queue of queues) {
      await queue.obliterate({ force: true }).catch(() => undefined);
      await queue.close();
    }
    master?.disconnect();
    streams?.disconnect();
    await fx?.close();
  });

  describe('edit-then-retry', () => {
    it('is an admin right: an operator sending data gets 403 and the entry stays parked; a plain retry stays an operator right', async () => {
      const origin = uniqueName('edit-role');
      queueOf(origin);
      const [one, two] = [storedEntry({ id: `${origin}-1`, origin }), storedEntry({ id: `${origin}-2`, origin })];
      await putEntries(fx.processor.store, [one!, two!]);
      const refused = await as(principals.users.operator, 'POST', `/dlq/${one!.id}/retry`, { data: { message: 'fixed' } });
      expect(refused.status).toBe(403);
      expect(refused.body.message).toContain('needs administer');
      expect((await fx.processor.store.get(one!.id))?.status).toBe('parked');
      expect((await as(principals.keys.viewer, 'POST', `/dlq/${one!.id}/retry`, { data: {} })).status).toBe(403);
      expect((await as(principals.users.operator, 'POST', `/dlq/${two!.id}/retry`)).status).toBe(202);
    });

    it("validates a job's edited data with the job data schema: 400 with the schema's message, nothing sent", async () => {
      const origin = uniqueName('edit-job');
      const queue = queueOf(origin);
      const entry = storedEntry({ id: `${origin}-1`, origin });
      await putEntries(fx.processor.store, [entry]);
      const reserved = await as(principals.users.admin, 'POST', `/dlq/${entry.id}/retry`, { data: { message: 'x', __dlq: { entryId: 'forged' } } });
      expect(reserved.status).toBe(400);
      expect(reserved.body.message).toContain('data.__dlq is reserved for the stack');
      expect(reserved.body.details[0].path).toBe('data.__dlq');
      const notObject = await as(principals.users.admin, 'POST', `/dlq/${entry.id}/retry`, { data: [1, 2] });
      expect(notObject.status).toBe(400);
      expect(await queue.count()).toBe(0);
      expect((await fx.processor.store.read(entry.id))?.state.status).toBe('parked');

      const edited = await as(principals.users.admin, 'POST', `/dlq/${entry.id}/retry`, { data: { message: 'fixed by hand' } });
      expect(edited.status).toBe(202);
      expect(edited.body.edited).toBe(true);
      const [job] = await queue.getJobs(['waiting']);
      expect(job!.data).toMatchObject({ message: 'fixed by hand' });
      expect(job!.data[DLQ_META_KEY]).toMatchObject({ entryId: entry.id, retries: 1 });
      const stored = (await fx.processor.store.get(entry.id))!;
      expect(stored.data).toEqual({ message: 'fixed by hand' });
      expect(stored.editedFrom).toEqual({ message: 'boom' });
      const [record] = await audit(`&action=dlq.retry&target=dlq/${entry.id}`);
      expect(record).toMatchObject({ principal: 'admin-person', outcome: 'ok', detail: { entryId: entry.id, edited: true } });
    });

    it("validates an event's edited data with the envelope and its family schema, then re-publishes it with the same event id", async () => {
      const stream = uniqueName('edit-stream');
      const entry = storedEntry({ id: `${stream}-1`, origin: stream, kind: 'event', name: 'workspace.created' });
      await putEntries(fx.processor.store, [entry]);
      const invalid = await as(principals.keys.admin, 'POST', `/dlq/${entry.id}/retry`, { data: { workspaceId: 'w1' } });
      expect(invalid.status).toBe(400);
      expect(invalid.body.message).toBe('data is invalid for workspace.created');
      expect(invalid.body.details.map((d: any) => d.path)).toContain('data.name');
      expect(await streams.xlen(stream)).toBe(0);
      const fixed = await as(principals.keys.admin, 'POST', `/dlq/${entry.id}/retry`, { data: { workspaceId: 'w1', name: 'Acme', ownerId: 'u1' } });
      expect(fixed.status).toBe(202);
      const rows = (await streams.xrange(stream, '-', '+')) as [string, string[]][];
      expect(rows).toHaveLength(1);
      const fields = rows[0]![1];
      const wire: Record<string, string> = {};
      for (let index = 0; index + 1 < fields.length; index += 2) wire[fields[index]!] = fields[index + 1]!;
      expect(wire.id).toBe((entry.data as { id: string }).id);
      expect(JSON.parse(wire.data!)).toEqual({ workspaceId: 'w1', name: 'Acme', ownerId: 'u1' });
    });
  });

  describe('redrive tasks', () => {
    it('dry-runs a fingerprint (count only, nothing stored or audited), then redrives it at the asked rate to 100 %', async () => {
      const origin = uniqueName('redrive-fp');
      const queue = queueOf(origin);
      const matching = Array.from({ length: 60 }, (_, i) => storedEntry({ id: `${origin}-m${i}`, origin, message: `timeout after ${i}ms on https://x.test/${i}` }));
      const other = Array.from({ length: 10 }, (_, i) => storedEntry({ id: `${origin}-o${i}`, origin, message: 'schema mismatch' }));
      await putEntries(fx.processor.store, [...matching, ...other]);
      const [group] = (await as(principals.keys.viewer, 'GET', `/dlq/fingerprints?origin=${origin}&status=parked`)).body.items.filter((item: any) => item.count === 60);
      const tasksBefore = await master.zcard('evinfra:dlq:tasks');

      const dry = await as(principals.users.operator, 'POST', '/dlq/redrive', { fingerprint: group.fingerprint, rate: 30, dryRun: true });
      expect(dry).toMatchObject({ status: 200, body: { dryRun: true, count: 60 } });
      expect(await master.zcard('evinfra:dlq:tasks')).toBe(tasksBefore);
      expect(await audit('&action=dlq.redrive&principal=operator-person')).toEqual([]);

      const created = await as(principals.users.operator, 'POST', '/dlq/redrive', { fingerprint: group.fingerprint, rate: 30, name: 'timeouts' });
      expect(created.status).toBe(202);
      expect(created.body).toMatchObject({ status: 'pending', selected: 60, rate: 30 });
      expect(created.location).toBe(`/dlq/tasks/${created.body.taskId}`);
      const task = await waitFor(async () => {
        const { body } = await as(principals.keys.viewer, 'GET', `/dlq/tasks/${created.body.taskId}`);
        return body.status === 'done' ? body : undefined;
      }, 'the task to finish', { timeoutMs: 20_000 });
      expect(task).toMatchObject({ selected: 60, done: 60, skipped: 0, failed: 0, progress: 1, name: 'timeouts', fingerprint: group.fingerprint, createdBy: 'operator-person' });
      // 60 entries at 30/s: the last is due 59/30 s after the first. Never faster; slower only
      // by what a loaded machine costs (a quarter of the asked rate would take 8 s).
      const tookMs = Date.parse(task.finishedAt) - Date.parse(task.startedAt);
      expect(tookMs).toBeGreaterThanOrEqual(1_900);
      expect(tookMs).toBeLessThan(8_000);
      const jobs = await queue.getJobs(['waiting']);
      expect(jobs.map((job) => (job.data[DLQ_META_KEY] as { entryId: string }).entryId).sort()).toEqual(matching.map((e) => e.id).sort());
      for (const entry of other) expect((await fx.processor.store.get(entry.id))?.status).toBe('parked');

      const [record] = await audit(`&action=dlq.redrive&target=dlq-task/${created.body.taskId}`);
      expect(record).toMatchObject({ principal: 'operator-person', outcome: 'attempted', detail: { count: 60, filter: { fingerprint: group.fingerprint } } });
      const perEntry = await audit(`&action=dlq.retry&principal=operator-person&target=dlq/${matching[0]!.id}`);
      expect(perEntry[0].detail.filter).toMatchObject({ fingerprint: group.fingerprint, taskId: created.body.taskId });
      const listed = await as(principals.keys.viewer, 'GET', '/dlq/tasks?limit=5');
      expect(listed.body.items.map((item: any) => item.id)).toContain(created.body.taskId);
    });

    it('skips entries that stopped being parked after the selection was frozen, and counts them', async () => {
      const origin = uniqueName('redrive-skip');
      queueOf(origin);
      const own = Array.from({ length: 20 }, (_, i) => storedEntry({ id: `${origin}-${String(i).padStart(2, '0')}`, origin }));
      await putEntries(fx.processor.store, own);
      const created = await as(principals.users.operator, 'POST', '/dlq/redrive', { filter: { origin }, rate: 5 });
      expect(created.body.selected).toBe(20);
      // The oldest entries come last (newest first): discard two of them before their turn.
      expect((await as(principals.users.admin, 'DELETE', `/dlq/${own[0]!.id}`)).status).toBe(200);
      expect((await as(principals.users.admin, 'POST', `/dlq/${own[1]!.id}/retry`)).status).toBe(202);
      const finished = await waitFor(async () => {
        const { body } = await as(principals.keys.viewer, 'GET', `/dlq/tasks/${created.body.taskId}`);
        return body.status === 'done' ? body : undefined;
      }, 'the task to finish', { timeoutMs: 20_000 });
      expect(finished).toMatchObject({ done: 18, skipped: 2, failed: 0 });
    }, 30_000);

    it('cancels a running task: it stops within one batch, later entries stay parked, a second cancel is 409', async () => {
      const origin = uniqueName('redrive-cancel');
      queueOf(origin);
      const own = Array.from({ length: 50 }, (_, i) => storedEntry({ id: `${origin}-${i}`, origin }));
      await putEntries(fx.processor.store, own);
      const created = await as(principals.users.operator, 'POST', '/dlq/redrive', { filter: { origin }, rate: 10 });
      const id = created.body.taskId;
      await waitFor(async () => (await as(principals.keys.viewer, 'GET', `/dlq/tasks/${id}`)).body.done >= 5, 'some entries redriven');
      const [first, second] = await Promise.all([as(principals.users.operator, 'DELETE', `/dlq/tasks/${id}`), as(principals.users.operator, 'DELETE', `/dlq/tasks/${id}`)]);
      expect([first.status, second.status].sort()).toEqual([200, 409]);
      const loser = first.status === 409 ? first : second;
      expect(loser.body).toMatchObject({ error: 'conflict', details: { id, status: 'cancelled' } });
      // The runner notices at its next write (after the batch in flight) and says it stopped:
      // nothing more is sent after that.
      const retriedNow = async () => (await Promise.all(own.map(async (entry) => (await fx.processor.store.state(entry.id))!.status))).filter((status) => status === 'retried').length;
      await waitFor(
        () => log.lines.some((line) => line.taskId === id && String(line.msg).startsWith('redrive task lost')),
        'the runner to stop the cancelled task',
        { timeoutMs: 15_000 },
      );
      const retried = await retriedNow();
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      expect(await retriedNow()).toBe(retried);
      const settled = (await as(principals.keys.viewer, 'GET', `/dlq/tasks/${id}`)).body;
      expect(settled.status).toBe('cancelled');
      expect(retried).toBeGreaterThanOrEqual(5);
      expect(retried).toBeLessThan(50);
      expect(retried).toBeGreaterThanOrEqual(settled.done);
      expect((await as(principals.keys.viewer, 'DELETE', `/dlq/tasks/${id}`)).status).toBe(403);
      expect((await as(principals.users.operator, 'DELETE', '/dlq/tasks/no-such-task')).status).toBe(404);
    }, 30_000);

    it('refuses bad bodies with 400 naming the field', async () => {
      const cases: [unknown, string][] = [
        [{ rate: 10 }, 'filter'],
        [{ filter: { origin: 'x' }, fingerprint: '0123456789abcdef' }, 'filter'],
        [{ filter: { origin: 'x' }, rate: 1_000_000 }, 'rate'],
        [{ filter: { origin: 'x' }, rate: 0 }, 'rate'],
        [{ filter: { status: 'parked' } }, 'filter'],
        [{ fingerprint: 'nope' }, 'fingerprint'],
      ];
      for (const [body, path] of cases) {
        const answer = await as(principals.users.operator, 'POST', '/dlq/redrive', body);
        expect(answer.status, JSON.stringify(body)).toBe(400);
        expect(answer.body.details.map((d: any) => d.path.split('.')[0])).toContain(path);
      }
      expect((await as(principals.keys.viewer, 'POST', '/dlq/redrive', { filter: {} , dryRun: true })).status).toBe(403);
    });

    it('lets one runner claim a task: of two claims read at one version, one wins and the other gets a conflict', async () => {
      const origin = uniqueName('redrive-claim');
      const entry = storedEntry({ id: `${origin}-1`, origin });
      await putEntries(fx.processor.store, [entry]);
      // Two runners of our own race for it: the fixture's runner stops first (this test runs last).
      await fx.processor.runner.close();
      const tasks = new RedriveTaskStore(master, { keepMs: 60_000 });
      const task = await tasks.create({ id: uniqueName('task'), name: null, filter: { origin }, fingerprint: null, rate: 1, createdBy: { principal: 't', role: 'operator', kind: 'service', requestId: 'r', address: 'a' } }, [entry.id]);
      const results = await Promise.allSettled([tasks.claim(task, 'runner-a', 60_000), tasks.claim(task, 'runner-b', 60_000)]);
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      const lost = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
      expect(lost.reason).toBeInstanceOf(TaskConflictError);
      const won = (results.find((r) => r.status === 'fulfilled') as PromiseFulfilledResult<any>).value;
      // The loser cannot write as owner either; a holder's lease keeps others out.
      await expect(tasks.begin({ ...won, owner: won.owner === 'runner-a' ? 'runner-b' : 'runner-a' }, { from: 0, to: 1 }, 1000)).rejects.toBeInstanceOf(TaskConflictError);
      await expect(tasks.claim(won, 'runner-c', 1000)).rejects.toBeInstanceOf(TaskConflictError);
      await tasks.cancel(won);
    });

    it('fails a task whose frozen selection is gone, with the reason, instead of running forever', { timeout: 40_000 }, async () => {
      const origin = uniqueName('redrive-lost');
      const own = [0, 1].map((i) => storedEntry({ id: `${origin}-${i}`, origin }));
      await putEntries(fx.processor.store, own);
      const tasks = new RedriveTaskStore(master, { keepMs: 60_000 });
      const task = await tasks.create({ id: uniqueName('task'), name: null, filter: { origin }, fingerprint: null, rate: 100, createdBy: { principal: 't', role: 'operator', kind: 'service', requestId: 'r', address: 'a' } }, own.map((e) => e.id));
      await master.del(`evinfra:dlq:task:${task.id}:ids`);
      const runner = new RedriveRunner({ leaseMs: 5_000, pollMs: 100, batchMax: 10, concurrency: 4 }, { tasks, handler: fx.processor.handler, logger: silentLogger() });
      runner.start();
      try {
        const failed = await waitFor(async () => {
          const current = await tasks.get(task.id);
          return current.status === 'failed' ? current : undefined;
        }, 'the task to fail', { timeoutMs: 30_000 });
        expect(failed.lastError).toBe('selection lost at position 0 of 2');
        for (const entry of own) expect((await fx.processor.store.get(entry.id))?.status).toBe('parked');
      } finally {
        await runner.close();
      }
    });
  });
});
