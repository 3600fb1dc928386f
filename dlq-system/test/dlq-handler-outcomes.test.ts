/**
 * What the handler's decisions leave behind besides the entry (support/handler-parts.ts):
 * audit records of operators' actions and failed sends, metrics by label, the squatted-id
 * outcome of automatic and manual retries, and an event retry's stream id.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue } from 'bullmq';
import {
  AUDIT_STREAM,
  BULL_PREFIX,
  DLQ_META_KEY,
  SERVICES,
  createEvent,
  fromStreamEntry,
  retryJobId,
  type AuditActor,
  type AuditRecord,
  type DeadLetterEntry,
} from '@event-infra/shared';
import { uniqueName } from '@event-infra/testing';
import { RetryIdTakenError } from '../src/core/origin-sender';
import { dlqKeys } from '../src/core/stored-entry';
import { jobEntry } from './support/dlq-harness';
import { startHandlerParts, type HandlerParts } from './support/handler-parts';

const transient = { message: 'upstream unavailable', code: 'ECONNREFUSED' };
const permanent = { message: 'bad input', permanent: true };
const actor: AuditActor = { principal: 'ops', role: 'operator', kind: 'human', requestId: 'req-1', address: '127.0.0.1' };

describe('DLQ handler outcomes', () => {
  let parts: HandlerParts;

  beforeAll(async () => {
    parts = await startHandlerParts({ maxRetries: 3, baseDelayMs: 60_000, maxDelayMs: 600_000 });
  });
  afterAll(async () => {
    await parts.close();
  });

  const originQueue = (): Queue => parts.originQueue('outcome-origin');

  /** Audit records appended since `since` (a stream id), oldest first. */
  async function auditSince(since: string): Promise<AuditRecord[]> {
    const entries = await parts.redis.xrange(AUDIT_STREAM, `(${since}`, '+');
    return entries.map(([id, fields]) => fromStreamEntry(id, fields));
  }
  const lastAuditId = async (): Promise<string> => (await parts.redis.xrevrange(AUDIT_STREAM, '+', '-', 'COUNT', 1))[0]?.[0] ?? '0-0';

  it('counts received and parked failures by their labels', async () => {
    const queue = originQueue();
    const received = await parts.metric('dlq_received_total', 'kind="job"');
    const parked = await parts.metric('dlq_parked_total', `origin="${queue.name}"`);
    await parts.handler.handle(jobEntry(queue.name, 'm-1', permanent), uniqueName('src'));
    await parts.handler.handle(jobEntry(queue.name, 'm-2', transient), uniqueName('src'));
    expect(await parts.metric('dlq_received_total', 'kind="job"')).toBe(received + 2);
    expect(await parts.metric('dlq_parked_total', `origin="${queue.name}",classification="permanent",reason="permanent"`)).toBe(parked + 1);
  });

  it('an automatic retry whose id is squatted parks the entry (retry_id_taken), untracked and alerted', async () => {
    const queue = originQueue();
    const entry = await parts.handler.handle(jobEntry(queue.name, 'sq-1', transient), uniqueName('src'));
    const token = (await parts.store.state(entry.id))!.token;
    await queue.add('squat', { squatter: true }, { jobId: retryJobId('sq-1', 1, token) });
    await parts.handler.autoRetry(entry.id, 1);
    expect(await parts.store.get(entry.id)).toMatchObject({ status: 'parked', parkReason: 'retry_id_taken', retries: 1 });
    expect(await parts.store.tracked()).not.toContainEqual(expect.objectContaining({ entryId: entry.id }));
    expect(await parts.redis.lrange(dlqKeys.alertBucketIds(`job:${queue.name}`), 0, -1)).toContain(entry.id);
    expect(await parts.metric('dlq_parked_total', `origin="${queue.name}",classification="transient",reason="retry_id_taken"`)).toBe(1);
  });

  it('a manual retry on a squatted id answers the conflict and audits the attempt as failed (retry_id_taken)', async () => {
    const queue = originQueue();
    const entry = await parts.handler.handle(jobEntry(queue.name, 'sq-2', permanent), uniqueName('src'));
    const token = (await parts.store.state(entry.id))!.token;
    await queue.add('squat', { squatter: true }, { jobId: retryJobId('sq-2', 1, token) });
    const since = await lastAuditId();
    await expect(parts.handler.manualRetry(entry.id, actor)).rejects.toBeInstanceOf(RetryIdTakenError);
    expect(await parts.store.get(entry.id)).toMatchObject({ status: 'parked', parkReason: 'retry_id_taken' });
    const records = await auditSince(since);
    expect(records.map((record) => [record.action, record.outcome, record.error ?? null])).toEqual([
      ['dlq.retry', 'ok', null],
      ['dlq.retry', 'failed', 'retry_id_taken'],
    ]);
    expect(records[1]).toMatchObject({ principal: 'ops', target: `dlq/${entry.id}`, status: 502 });
  });

  it('a manual retry whose send fails audits it as failed (send_failed) and leaves the entry parked', async () => {
    const originName = uniqueName('broken-origin');
    await parts.queueRedis.set(`${BULL_PREFIX}:${originName}:wait`, 'not a list');
    try {
      const entry = await parts.handler.handle(jobEntry(originName, 'sf-1', permanent), uniqueName('src'));
      const since = await lastAuditId();
      const retriedBefore = await parts.metric('dlq_retried_total', 'mode="manual"');
      await expect(parts.handler.manualRetry(entry.id, actor)).rejects.toThrow();
      const records = await auditSince(since);
      expect(records.map((record) => [record.action, record.outcome, record.error ?? null])).toEqual([
        ['dlq.retry', 'ok', null],
        ['dlq.retry', 'failed', 'send_failed'],
      ]);
      expect(await parts.store.get(entry.id)).toMatchObject({ status: 'parked', retries: 0 });
      expect(await parts.metric('dlq_retried_total', 'mode="manual"')).toBe(retriedBefore);
    } finally {
      await parts.queueRedis.del(`${BULL_PREFIX}:${originName}:wait`);
    }
  });

  it('a redrive is audited once with its filter and count before the entries move, each retry then with the filter', async () => {
    const queue = originQueue();
    const ids = [];
    for (const jobId of ['rd-1', 'rd-2']) ids.push((await parts.handler.handle(jobEntry(queue.name, jobId, permanent), uniqueName('src'))).id);
    const since = await lastAuditId();
    const result = await parts.handler.retryMatching({ origin: queue.name }, 5, actor);
    expect(result).toMatchObject({ matched: 2, retried: 2 });
    const records = await auditSince(since);
    expect(records[0]).toMatchObject({ action: 'dlq.redrive', outcome: 'attempted', detail: { filter: { origin: queue.name, limit: 5 }, count: 2 } });
    expect(records.slice(1).map((record) => [record.action, record.detail.entryId, record.detail.filter])).toEqual(
      [...ids].reverse().map((id) => ['dlq.retry', id, { origin: queue.name, limit: 5 }]),
    );
    // Without an actor (the stack itself), nothing is audited.
    const quiet = await lastAuditId();
    await parts.handler.handle(jobEntry(queue.name, 'rd-3', permanent), uniqueName('src'));
    await parts.handler.retryMatching({ origin: queue.name }, 5);
    expect(await auditSince(quiet)).toEqual([]);
  });

  it('a discard by an operator is audited in its transition; the manual retry metric counts sends by mode', async () => {
    const queue = originQueue();
    const entry = await parts.handler.handle(jobEntry(queue.name, 'dc-1', permanent), uniqueName('src'));
    const before = await parts.metric('dlq_retried_total', 'mode="manual"');
    await parts.handler.manualRetry(entry.id);
    expect(await parts.metric('dlq_retried_total', 'kind="job",mode="manual"')).toBe(before + 1);
    const since = await lastAuditId();
    await parts.handler.discard(entry.id, actor);
    const records = await auditSince(since);
    expect(records).toEqual([expect.objectContaining({ action: 'dlq.discard', outcome: 'ok', target: `dlq/${entry.id}`, detail: { entryId: entry.id } })]);
  });

  it('an event retry records the stream id it was sent to (retrySent), keeping the token', async () => {
    const stream = uniqueName('outcome-stream');
    const event = createEvent({ type: 'workspace.created', data: { workspaceId: 'w', name: 'Acme', ownerId: 'u' } }, SERVICES.event);
    const now = new Date().toISOString();
    const dead: DeadLetterEntry = {
      kind: 'event',
      origin: { kind: 'event', stream, group: 'g', entryId: '1-1', eventId: event.id },
      name: event.type,
      data: event,
      error: transient,
      attempts: 1,
      firstFailedAt: now,
      lastFailedAt: now,
      dlqRetries: 0,
    };
    try {
      const entry = await parts.handler.handle(dead, uniqueName('src'));
      const token = (await parts.store.state(entry.id))!.token;
      await parts.handler.autoRetry(entry.id, 1);
      const [streamId] = (await parts.streamsRedis.xrange(stream, '-', '+'))[0]!;
      const read = (await parts.store.read(entry.id))!;
      expect(read.entry.retriedTo).toEqual({ kind: 'event', stream, eventId: event.id, streamId });
      expect(read.state).toEqual({ status: 'retried', version: 3, token });
      expect(await parts.store.eventGroups()).toContain('g');
      expect(await parts.metric('dlq_retried_total', 'kind="event",mode="auto"')).toBeGreaterThanOrEqual(1);
    } finally {
      await parts.streamsRedis.del(stream);
    }
  });

  it("a job retry's data carries the reference a failure of it must show to count", async () => {
    const queue = originQueue();
    const entry = await parts.handler.handle(jobEntry(queue.name, 'ref-1', transient), uniqueName('src'));
    await parts.handler.autoRetry(entry.id, 1);
    const read = (await parts.store.read(entry.id))!;
    const jobId = read.entry.retriedTo?.kind === 'job' ? read.entry.retriedTo.jobId : '';
    expect((await queue.getJob(jobId))?.data[DLQ_META_KEY]).toEqual({ entryId: entry.id, retries: 1, token: read.state.token });
  });

  it('the scheduler job of a retry that was started but whose send was lost sends it again, same id', async () => {
    const queue = originQueue();
    const entry = await parts.handler.handle(jobEntry(queue.name, 'again-1', transient), uniqueName('src'));
    await parts.handler.autoRetry(entry.id, 1);
    const read = (await parts.store.read(entry.id))!;
    const jobId = read.entry.retriedTo?.kind === 'job' ? read.entry.retriedTo.jobId : '';
    // As if the process died between startRetry and the add: the job is not there.
    await queue.remove(jobId);
    await parts.handler.autoRetry(entry.id, 1);
    expect((await queue.getJob(jobId))?.data[DLQ_META_KEY]).toEqual({ entryId: entry.id, retries: 1, token: read.state.token });
    expect(await parts.store.state(entry.id)).toEqual(read.state);
  });

  it('a handling error reaches the caller as it is (the DLQ job is then tried again), nothing stored', async () => {
    await parts.redis.set(dlqKeys.state(), 'not a hash');
    try {
      const source = uniqueName('src');
      await expect(parts.handler.handle(jobEntry(uniqueName('q'), 'err-1', permanent), source)).rejects.toThrow(/WRONGTYPE/);
      expect(await parts.store.get(source)).toBeUndefined();
    } finally {
      await parts.redis.del(dlqKeys.state());
    }
  });

  it('the stored-state gauges: parked entries by origin and class, entries by status, a label gone once nothing is parked there', async () => {
    const queue = originQueue();
    const entry = await parts.handler.handle(jobEntry(queue.name, 'g-1', permanent), uniqueName('src'));
    expect(await parts.metric('dlq_parked_entries', `origin="${queue.name}",classification="permanent"`)).toBe(1);
    expect(await parts.metric('dlq_entries', 'status="parked"')).toBe((await parts.store.countByStatus()).parked);
    await parts.handler.discard(entry.id);
    const text = await parts.registry.metrics();
    expect(text.split('\n').filter((line) => line.startsWith(`dlq_parked_entries{origin="${queue.name}",classification="permanent"`))).toEqual([expect.stringMatching(/ 0$/)]);
    await parts.redis.srem(dlqKeys.origins(), queue.name);
    const after = (await parts.registry.metrics()).split('\n').filter((line) => line.startsWith('dlq_parked_entries{'));
    expect(after.filter((line) => line.includes(`origin="${queue.name}"`))).toEqual([]);
  });
});
