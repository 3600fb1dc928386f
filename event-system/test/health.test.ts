import { fileURLToPath } from 'node:url';
import { REDIS_ROLES, SERVICES } from '@event-infra/shared';
import { describeServiceContract } from '@event-infra/testing';
import { loadConfig } from '../src/config';
import { startEventProcessor } from '../src/service';

describeServiceContract({
  service: SERVICES.event,
  roles: [REDIS_ROLES.master, REDIS_ROLES.streams, REDIS_ROLES.queue],
  start: (env, logger) => startEventProcessor(loadConfig({ ...env, EVENT_BLOCK_MS: '200' }), logger),
  main: fileURLToPath(new URL('../src/main.ts', import.meta.url)),
});
