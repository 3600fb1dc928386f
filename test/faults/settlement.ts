/**
 * The proof after a fault: every job the API accepted ended completed or in the DLQ (its entry
 * parked or recovered), every event it accepted is on the stream and was acknowledged by the
 * group (handled or dead-lettered), and each `workspace.created` event's trigger job ran.
 * Waits on conditions (generous deadlines), then counts per id; anything left is listed.
 */
import { bullPrefix, deadLetterJobId, QUEUES, type RedisClient } from '@event-infra/shared';
import { waitFor } from '@event-infra/testing';
import type { AcceptedEvent, AcceptedJob } from './load-generator';

export interface DlqApi {
  baseUrl: string;
  apiKey: string;
}

/** Status of a DLQ entry over `GET /dlq/:id`, undefined when there is none (404). */
export async function dlqEntryStatus(api: DlqApi, id: string): Promise<string | undefined> {
  const response = await fetch(`${api.baseUrl}/dlq/${encodeURIComponent(id)}`, {
    headers: { authorization: `Bearer ${api.apiKey}` },
    signal: AbortSignal.timeout(5_000),
  });
  if (response.status === 404) {
    await response.arrayBuffer();
    return undefined;
  }
  if (response.status !== 200) throw new Error(`GET /dlq/${id}: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { status: string }).status;
}

const TERMINAL_DLQ = new Set(['parked', 'recovered']);

export function jobDlqId(queue: string, jobId: string): string {
  return deadLetterJobId({ origin: { kind: 'job', queue, jobId } });
}

export function eventDlqId(stream: string, group: string, entryId: string): string {
  return deadLetterJobId({ origin: { kind: 'event', stream, group, entryId } });
}

export interface JobOutcome {
  completed: number;
  /** Failed jobs whose DLQ entry is parked. */
  parked: number;
  /** Failed jobs whose DLQ entry was retried and recovered. */
  recovered: number;
  /** Jobs expected to dead-letter (permanent failures) that did. */
  expectedDeadLetters: number;
  /** Ids of jobs not settled at the deadline, with what was seen (the first 20, then a count line). */
  unsettled: string[];
  /** How many jobs were not settled at the deadline (all of them, not capped like `unsettled`). */
  unsettledCount: number;
  /** Of those, jobs whose hash does not exist at all (the add itself was lost). */
  missingCount: number;
}

type JobState = { kind: 'completed' } | { kind: 'dlq'; status: string } | { kind: 'open'; detail: string };

async function jobState(queueRedis: RedisClient, api: DlqApi, job: AcceptedJob): Promise<JobState> {
  // `bull:<queue>`, or `bull:{<queue>}:<queue>` on a Redis Cluster (the stack's own key layout).
  const key = `${bullPrefix(job.queue, queueRedis.isCluster)}:${job.queue}`;
  const [completed, failed] = await Promise.all([queueRedis.zscore(`${key}:completed`, job.id), queueRedis.zscore(`${key}:failed`, job.id)]);
  if (completed !== null) return { kind: 'completed' };
  if (failed === null) return { kind: 'open', detail: await openJobDetail(queueRedis, key, job.id) };
  const status = await dlqEntryStatus(api, jobDlqId(job.queue, job.id));
  if (status !== undefined && TERMINAL_DLQ.has(status)) return { kind: 'dlq', status };
  return { kind: 'open', detail: `failed, DLQ entry ${status ?? 'missing'}` };
}

/**
 * Where an unfinished job is: its hash (or NO JOB HASH), the BullMQ lists that hold it, its lock,
 * attempts and last failure, so that a loss can be told apart from a job stuck active.
 */
async function openJobDetail(queueRedis: RedisClient, key: string, jobId: string): Promise<string> {
  const hash = await queueRedis.hgetall(`${key}:${jobId}`);
  if (Object.keys(hash).length === 0) return 'NO JOB HASH';
  const [wait, active, paused, delayed, prioritized, lock] = await Promise.all([
    queueRedis.lpos(`${key}:wait`, jobId),
    queueRedis.lpos(`${key}:active`, jobId),
    queueRedis.lpos(`${key}:paused`, jobId),
    queueRedis.zscore(`${key}:delayed`, jobId),
    queueRedis.zscore(`${key}:prioritized`, jobId),
    queueRedis.exists(`${key}:${jobId}:lock`),
  ]);
  const lists = [wait !== null && 'wait', active !== null && 'active', paused !== null && 'paused', delayed !== null && 'delayed', prioritized !== null && 'prioritized'].filter(Boolean);
  const failure = hash.failedReason ? `, last failure ${hash.failedReason.slice(0, 80)}` : '';
  return `not finished: in [${lists.join(',')}], lock ${lock ? 'held' : 'none'}, attemptsMade ${hash.atm ?? hash.attemptsMade ?? 0}, started ${hash.ats ?? '0'}, processedOn ${hash.processedOn ?? '-'}${failure}`;
}

/** Waits until every job is completed or dead-lettered (entry parked/recovered); returns the counts. */
export async function settleJobs(queueRedis: RedisClient, api: DlqApi, jobs: AcceptedJob[], timeoutMs: number): Promise<JobOutcome> {
  const outcome: JobOutcome = { completed: 0, parked: 0, recovered: 0, expectedDeadLetters: 0, unsettled: [], unsettledCount: 0, missingCount: 0 };
  let open = [...jobs];
  let last: Map<AcceptedJob, string> = new Map();
  const check = async (): Promise<boolean> => {
    const states = await Promise.all(open.map(async (job) => [job, await jobState(queueRedis, api, job)] as const));
    last = new Map();
    const still: AcceptedJob[] = [];
    for (const [job, state] of states) {
      if (state.kind === 'open') {
        still.push(job);
        last.set(job, state.detail);
      } else if (state.kind === 'completed') {
        outcome.completed += 1;
      } else {
        if (state.status === 'parked') outcome.parked += 1;
        else outcome.recovered += 1;
        if (job.expect === 'dead-letter') outcome.expectedDeadLetters += 1;
      }
    }
    open = still;
    return open.length === 0;
  };
  try {
    await waitFor(check, 'every accepted job completed or dead-lettered', { timeoutMs, intervalMs: 500 });
  } catch {
    // Reported through `unsettled`; the caller asserts on it with the ids.
    outcome.unsettledCount = open.length;
    outcome.missingCount = open.filter((job) => last.get(job) === 'NO JOB HASH').length;
    outcome.unsettled = open.slice(0, 20).map((job) => `${job.queue}/${job.id} (${job.name}): ${last.get(job) ?? '?'}`);
    if (open.length > 20) outcome.unsettled.push(`… and ${open.length - 20} more`);
  }
  return outcome;
}

export interface EventOutcome {
  /** Accepted events found on the stream. */
  onStream: number;
  /** Accepted events acknowledged by the group (handled, or dead-lettered then acknowledged). */
  handled: number;
  /** `workspace.created` events whose trigger job completed. */
  triggersCompleted: number;
  /** Trigger events without a completed job whose dead event is in the DLQ (parked/recovered). */
  deadLettered: number;
  /** Accepted events missing or unsettled at the deadline (the first 20, then a count line). */
  unsettled: string[];
  /**
   * How many accepted events were not settled at the deadline, each counted once: not on the
   * stream, still pending or not yet delivered to the group, or a trigger with neither a
   * completed job nor a DLQ entry.
   */
  unsettledCount: number;
  /** Of those, events not on the stream at all (the XADD itself was lost). */
  missingCount: number;
}

export interface EventCheckOptions {
  streamsRedis: RedisClient;
  queueRedis: RedisClient;
  api: DlqApi;
  stream: string;
  group: string;
  /** Only stream entries at or after this id are read (`<ms>-0` of the load's start). */
  fromEntryId: string;
  /** Trigger name of `workspace.created` in the triggers file (job id `evt-<name>-<event id>`). */
  triggerName: string;
  timeoutMs: number;
}

function entryIdAtMost(a: string, b: string): boolean {
  const [aMs, aSeq] = a.split('-').map(BigInt) as [bigint, bigint];
  const [bMs, bSeq] = b.split('-').map(BigInt) as [bigint, bigint];
  return aMs < bMs || (aMs === bMs && aSeq <= bSeq);
}

async function groupInfo(redis: RedisClient, stream: string, group: string): Promise<{ pending: number; lastDelivered: string }> {
  const groups = (await redis.xinfo('GROUPS', stream)) as unknown[][];
  const info = groups.find((entry) => entry[entry.indexOf('name') + 1] === group);
  if (!info) throw new Error(`group ${group} not on ${stream}`);
  return { pending: Number(info[info.indexOf('pending') + 1]), lastDelivered: String(info[info.indexOf('last-delivered-id') + 1]) };
}

/** Waits until every accepted event is on the stream and acknowledged, and every trigger job completed. */
export async function settleEvents(events: AcceptedEvent[], options: EventCheckOptions): Promise<EventOutcome> {
  const { streamsRedis, queueRedis, stream, group } = options;
  const outcome: EventOutcome = { onStream: 0, handled: 0, triggersCompleted: 0, deadLettered: 0, unsettled: [], unsettledCount: 0, missingCount: 0 };
  let openCount = 0;
  let missingCount = 0;
  let problems: string[] = [];
  const check = async (): Promise<boolean> => {
    problems = [];
    openCount = 0;
    missingCount = 0;
    const entries = await streamsRedis.xrange(stream, options.fromEntryId, '+');
    const entryOf = new Map<string, string>();
    for (const [entryId, fields] of entries) {
      const index = fields.indexOf('id');
      if (index >= 0 && index % 2 === 0) entryOf.set(fields[index + 1]!, entryId);
    }
    const { pending, lastDelivered } = await groupInfo(streamsRedis, stream, group);
    const lastEntry = entries.at(-1)?.[0];
    if (pending > 0) problems.push(`group has ${pending} pending`);
    const pendingIds = new Set(
      pending > 0 ? ((await streamsRedis.xpending(stream, group, '-', '+', 10_000)) as [string, ...unknown[]][]).map(([entryId]) => entryId) : [],
    );
    if (lastEntry !== undefined && !entryIdAtMost(lastEntry, lastDelivered)) problems.push(`group lags (last delivered ${lastDelivered} < ${lastEntry})`);
    let onStream = 0;
    let handled = 0;
    let triggersCompleted = 0;
    let deadLettered = 0;
    const triggerKey = `${bullPrefix(QUEUES.eventDriven, queueRedis.isCluster)}:${QUEUES.eventDriven}:completed`;
    const triggered = events.filter((event) => event.triggers);
    const scores = await Promise.all(triggered.map((event) => queueRedis.zscore(triggerKey, `evt-${options.triggerName}-${event.id}`)));
    const completedTriggers = new Set(triggered.filter((_, index) => scores[index] !== null).map((event) => event.id));
    for (const event of events) {
      const entryId = entryOf.get(event.id);
      if (entryId === undefined) {
        problems.push(`event ${event.id} (${event.type}) NOT ON THE STREAM`);
        openCount += 1;
        missingCount += 1;
        continue;
      }
      onStream += 1;
      const acknowledged = !pendingIds.has(entryId) && entryIdAtMost(entryId, lastDelivered);
      if (pending === 0 && acknowledged) handled += 1;
      if (!acknowledged) openCount += 1;
      if (!event.triggers) continue;
      if (completedTriggers.has(event.id)) {
        triggersCompleted += 1;
        continue;
      }
      const status = await dlqEntryStatus(options.api, eventDlqId(stream, group, entryId));
      if (status !== undefined && TERMINAL_DLQ.has(status)) deadLettered += 1;
      else {
        problems.push(`event ${event.id}: trigger job not completed, DLQ entry ${status ?? 'missing'}`);
        if (acknowledged) openCount += 1;
      }
    }
    Object.assign(outcome, { onStream, handled, triggersCompleted, deadLettered });
    return problems.length === 0 && handled === events.length;
  };
  try {
    await waitFor(check, 'every accepted event handled', { timeoutMs: options.timeoutMs, intervalMs: 500 });
  } catch {
    // Reported through `unsettled` and `unsettledCount`.
    outcome.unsettledCount = openCount;
    outcome.missingCount = missingCount;
    outcome.unsettled = problems.length > 20 ? [...problems.slice(0, 20), `… and ${problems.length - 20} more`] : problems;
    if (outcome.unsettled.length === 0) outcome.unsettled = [`only ${outcome.handled} of ${events.length} acknowledged`];
  }
  return outcome;
}
