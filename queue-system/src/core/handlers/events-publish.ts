import { InvalidEventError, PermanentJobError, RetryableJobError, toError, type EventInput, type EventPublisher } from '@event-infra/shared';
import type { HandlerDefinition } from '../handler-registry';

/**
 * `events.publish`: `data` is one event without `id`/`time` (`{type, data, subject?, …}`),
 * published to the stream through the shared publisher. An invalid event is permanent; a
 * Redis failure is retried.
 */
export function eventsPublishHandler(publisher: EventPublisher): HandlerDefinition {
  return {
    name: 'events.publish',
    description: 'publishes data as one event to the stream',
    async handler({ data }) {
      try {
        const published = await publisher.publish(data as unknown as EventInput);
        return { eventId: published.id, streamId: published.streamId };
      } catch (caught) {
        if (caught instanceof InvalidEventError) {
          throw new PermanentJobError(caught.message, { code: 'invalid_event', cause: caught });
        }
        const err = toError(caught);
        throw new RetryableJobError(`publish failed: ${err.message}`, { code: 'publish_failed', cause: err });
      }
    },
  };
}
