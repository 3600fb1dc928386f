import type { RedisClient } from '@event-infra/shared';
import { eventChannel, sendFlatCommand } from '@event-infra/shared';
import type { EventHandler } from './router';

interface Outgoing {
  resolve: () => void;
  reject: (err: unknown) => void;
}

/** ARGV: channel, message, channel, message, …; PUBLISHes them in order. */
const PUBLISH_ALL_SCRIPT = "for i = 1, #ARGV - 1, 2 do redis.call('PUBLISH', ARGV[i], ARGV[i + 1]) end return #ARGV / 2";

/**
 * Real-time fan-out: PUBLISHes each event's JSON envelope on `eventChannel(type)` on the
 * master, for subscribers such as websocket gateways (`PSUBSCRIBE EVENT_CHANNEL_PATTERN`).
 * The PUBLISHes of the events handled in one tick (a batch's events start together) leave as
 * ONE command, a script that PUBLISHes them in call order: one ioredis command per batch
 * instead of one per event (each costs Node a few µs). Every handler of the tick resolves
 * with that command's reply. Pub/sub is fire-and-forget: a subscriber that is not connected
 * misses the message. A replayed event (`POST /replay`) is marked with `replay: {taskId}`.
 */
export function createFanOutHandler(master: RedisClient): EventHandler {
  let queued: Outgoing[] = [];
  let args: string[] = [];
  const flush = (): void => {
    const batch = queued;
    const messages = args;
    queued = [];
    args = [];
    sendFlatCommand(master, 'eval', [PUBLISH_ALL_SCRIPT, 0], messages).then(
      () => {
        for (const item of batch) item.resolve();
      },
      (err: unknown) => {
        for (const item of batch) item.reject(err);
      },
    );
  };
  return (event, context) =>
    new Promise<void>((resolve, reject) => {
      if (queued.length === 0) queueMicrotask(flush);
      queued.push({ resolve, reject });
      // A replayed delivery carries `"replay":{"taskId"}` after the envelope's attributes; a live one is the envelope alone.
      args.push(eventChannel(event.type), JSON.stringify(context?.replay === undefined ? event : { ...event, replay: context.replay }));
    });
}
