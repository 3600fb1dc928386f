import type { Redis } from 'ioredis';
import { eventChannel } from '@event-infra/shared';
import type { EventHandler } from './router';

interface Outgoing {
  channel: string;
  message: string;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/**
 * Real-time fan-out: PUBLISHes each event's JSON envelope on `eventChannel(type)` on the
 * master, for subscribers such as websocket gateways (`PSUBSCRIBE EVENT_CHANNEL_PATTERN`).
 * The PUBLISHes of the events handled in one tick (a batch's events start together) leave in
 * one pipeline, one write, in call order; each event's handler resolves with its own reply.
 * Pub/sub is fire-and-forget: a subscriber that is not connected misses the message.
 */
export function createFanOutHandler(master: Redis): EventHandler {
  let queued: Outgoing[] = [];
  const flush = (): void => {
    const batch = queued;
    queued = [];
    const pipeline = master.pipeline();
    for (const { channel, message } of batch) pipeline.publish(channel, message);
    pipeline.exec().then(
      (results) => {
        batch.forEach((item, index) => {
          const [err] = results?.[index] ?? [new Error('PUBLISH reply missing')];
          if (err) item.reject(err);
          else item.resolve();
        });
      },
      (err: unknown) => {
        for (const item of batch) item.reject(err);
      },
    );
  };
  return (event) =>
    new Promise<void>((resolve, reject) => {
      if (queued.length === 0) queueMicrotask(flush);
      queued.push({ channel: eventChannel(event.type), message: JSON.stringify(event), resolve, reject });
    });
}
