import { SERVICES, runService } from '@event-infra/shared';
import { loadConfig } from './config';
import { startConfiguredProcessor } from './service';

await runService({ service: SERVICES.event, loadConfig, start: startConfiguredProcessor });
