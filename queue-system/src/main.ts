import { SERVICES, runService } from '@event-infra/shared';
import { loadConfig } from './config';
import { startQueueProcessor } from './service';

await runService({ service: SERVICES.queue, loadConfig, start: startQueueProcessor });
