import type { Redis } from 'ioredis';
import { eventChannel } from '@event-infra/shared';
import type { EventHandler } from './router';

/**
 * Real-time fan-out: PUBLISHes each event's JSON envelope on `eventChannel(type)` on the
 * master, for subscribers such as websocket gateways (`PSUBSCRIBE EVENT_CHANNEL_PATTERN`).
 * Pub/sub is fire-and-forget: a subscriber that is not connected misses the message.
 */
export function createFanOutHandler(master: Redis): EventHandler {
  return async (event) => {
    await master.publish(eventChannel(event.type), JSON.stringify(event));
  };
}
