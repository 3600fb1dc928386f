import { SERVICES, runService } from '@event-infra/shared';
import { loadConfig } from './config';
import { startDlqProcessor } from './service';

await runService({ service: SERVICES.dlq, loadConfig, start: startDlqProcessor });
