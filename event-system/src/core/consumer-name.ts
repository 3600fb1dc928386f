import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';

/** `<hostname>-<pid>-<random>`: unique per process and replica, readable in XINFO CONSUMERS. */
export function defaultConsumerName(): string {
  return `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
}
