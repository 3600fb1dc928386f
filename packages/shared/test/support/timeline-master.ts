/**
 * The master Redis of one timeline test file: a client opened before each test and, after it,
 * the test's recorder (when it set one) and the client closed.
 */
import { afterEach, beforeEach, inject } from 'vitest';
import { REDIS_ROLES, closeRedis, createRedis, waitForRedis, type Redis, type TimelineRecorder } from '@event-infra/shared';
import { silentLogger } from '@event-infra/testing';

export interface TimelineMaster {
  /** The running test's client of the master Redis. */
  readonly redis: Redis;
  /** The running test's recorder, closed after it (a test that closes it itself sets `undefined`). */
  recorder: TimelineRecorder | undefined;
}

/** Registers the hooks; the returned object's fields are those of the running test. */
export function timelineMaster(): TimelineMaster {
  const logger = silentLogger();
  const current: { redis: Redis | undefined; recorder: TimelineRecorder | undefined } = { redis: undefined, recorder: undefined };
  beforeEach(async () => {
    current.redis = createRedis({ url: inject('redis').master, role: REDIS_ROLES.master, profile: 'producer', logger, connectTimeoutMs: 1_000 });
    await waitForRedis(current.redis, REDIS_ROLES.master, 5_000);
  });
  afterEach(async () => {
    await current.recorder?.close();
    current.recorder = undefined;
    if (current.redis !== undefined) await closeRedis(current.redis);
    current.redis = undefined;
  });
  return {
    get redis(): Redis {
      if (current.redis === undefined) throw new Error('the master client exists only while a test runs');
      return current.redis;
    },
    get recorder(): TimelineRecorder | undefined {
      return current.recorder;
    },
    set recorder(recorder: TimelineRecorder | undefined) {
      current.recorder = recorder;
    },
  };
}
