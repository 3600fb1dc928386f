/**
 * The consumer-group engine's delivery steps on the timeline (README "Timeline: batch
 * records"): a successful first delivery of an event that is its own correlation goes into its
 * batch's record, everything else is a step of its own; the reader answers the same step for
 * both, and the batch path is the one that ran for the first kind.
 */
import { describe, expect, it } from 'vitest';
import { createEvent, readTimeline, resolveCorrelation, timelineBucketsKey, timelineHandledField, timelineStepsField } from '@event-infra/shared';
import { waitFor } from '@event-infra/testing';
import { useTestResources, startTestProcessor, testEnv, testPublisher, workspaceCreated } from './helpers';

const { open, client } = useTestResources();

/** Which fields the live buckets hold for `correlation`: its own steps, a batch record pointer. */
async function fieldsOf(correlation: string): Promise<{ steps: boolean; handled: boolean }> {
  const master = client('master');
  const found = { steps: false, handled: false };
  for (const bucket of await master.zrangebyscore(timelineBucketsKey(), Date.now(), '+inf')) {
    if ((await master.hexists(bucket, timelineStepsField(correlation))) === 1) found.steps = true;
    if ((await master.hexists(bucket, timelineHandledField(correlation))) === 1) found.handled = true;
  }
  return found;
}

describe('delivery steps of the consumer-group engine', () => {
  it('batch records and plain steps answer the same event.handled step; redeliveries and correlated events stay plain', async () => {
    const env = testEnv({ TIMELINE_ENABLED: 'true', RETRY_ATTEMPTS: '3', EVENT_CLAIM_IDLE_MS: '150', EVENT_CLAIM_INTERVAL_MS: '50' });
    const own = createEvent(workspaceCreated('own'), 'test');
    const correlated = createEvent({ ...workspaceCreated('correlated'), correlationid: `corr-${own.id}` }, 'test');
    const flaky = createEvent(workspaceCreated('flaky'), 'test');
    let flakyCalls = 0;
    const processor = await startTestProcessor(env, (router) =>
      router.on('workspace.*', 'noop', async (event) => {
        if (event.id === flaky.id && (flakyCalls += 1) === 1) throw new Error('first delivery fails');
      }),
    );
    open.push(processor);
    const publisher = testPublisher(client('streams'), env.STREAM_NAME!);
    for (const event of [own, correlated, flaky]) await publisher.publishEnvelope(event);
    const master = client('master');
    const ownTimeline = await waitFor(async () => readTimeline(master, own.id, 200), 'the batched step');
    const correlatedTimeline = await waitFor(async () => readTimeline(master, `corr-${own.id}`, 200), 'the plain step');
    const flakyTimeline = await waitFor(async () => {
      const timeline = await readTimeline(master, flaky.id, 200);
      return timeline !== undefined && timeline.steps.length === 2 ? timeline : undefined;
    }, 'the failed and the handled delivery');

    const shape = (timeline: typeof ownTimeline, event: typeof own) =>
      timeline.steps.map(({ at: _at, detail, ...step }) => ({ ...step, detail: { ...detail, entryId: typeof detail?.entryId }, subject: step.subject === event.id }));
    // The same step whichever path wrote it (the entry ids differ, their presence does not).
    expect(shape(ownTimeline, own)).toEqual(shape(correlatedTimeline, correlated));
    expect(ownTimeline.steps).toEqual([
      expect.objectContaining({
        kind: 'event.handled',
        subject: own.id,
        service: 'event-processor',
        seq: 1,
        detail: { type: 'workspace.created', source: 'test', entryId: expect.any(String), deliveries: 1, consumer: expect.any(String), handlers: ['noop'] },
      }),
    ]);
    expect(flakyTimeline.steps.map((step) => [step.kind, step.detail?.deliveries])).toEqual([
      ['event.handler-failed', 1],
      ['event.handled', 2],
    ]);
    // The batch path ran for the event that is its own correlation, and only for it.
    expect(await fieldsOf(own.id)).toEqual({ steps: false, handled: true });
    expect(await fieldsOf(`corr-${own.id}`)).toEqual({ steps: true, handled: false });
    expect(await fieldsOf(flaky.id)).toEqual({ steps: true, handled: false });
    expect(await resolveCorrelation(master, { eventId: own.id })).toBe(own.id);
    expect(await resolveCorrelation(master, { eventId: correlated.id })).toBe(`corr-${own.id}`);
  });
});
