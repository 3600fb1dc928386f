import { SERVICES, runService } from '@event-infra/shared';
import { loadConfig } from './config';
import { startEventProcessor } from './service';

await runService({ service: SERVICES.event, loadConfig, start: startEventProcessor });
