import { fileURLToPath } from 'node:url';
import { REDIS_ROLES, SERVICES } from '@event-infra/shared';
import { describeServiceContract } from '@event-infra/testing';
import { loadConfig } from '../src/config';
import { startDlqProcessor } from '../src/service';

describeServiceContract({
  service: SERVICES.dlq,
  roles: [REDIS_ROLES.master, REDIS_ROLES.streams, REDIS_ROLES.queue],
  start: (env, logger) => startDlqProcessor(loadConfig(env), logger),
  main: fileURLToPath(new URL('../src/main.ts', import.meta.url)),
});
