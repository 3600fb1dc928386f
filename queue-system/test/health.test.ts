import { fileURLToPath } from 'node:url';
import { REDIS_ROLES, SERVICES } from '@event-infra/shared';
import { describeServiceContract } from '@event-infra/testing';
import { loadConfig } from '../src/config';
import { startQueueProcessor } from '../src/service';

describeServiceContract({
  service: SERVICES.queue,
  roles: [REDIS_ROLES.queue, REDIS_ROLES.streams, REDIS_ROLES.master],
  start: (env, logger) => startQueueProcessor(loadConfig(env), logger),
  main: fileURLToPath(new URL('../src/main.ts', import.meta.url)),
});
