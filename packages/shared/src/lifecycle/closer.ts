import type { Logger } from '../logger';
import { toError } from '../errors';

export interface CloseStep {
  name: string;
  run: () => Promise<void> | void;
}

/**
 * An idempotent `close()`: the steps run once, in order, each isolated so that one failure
 * does not skip the rest; every later call returns the same promise.
 */
export function createCloser(steps: () => CloseStep[], logger: Logger): () => Promise<void> {
  let closing: Promise<void> | undefined;
  return () => {
    closing ??= (async () => {
      for (const step of steps()) {
        try {
          await step.run();
          logger.debug({ step: step.name }, 'closed');
        } catch (caught) {
          logger.error({ err: toError(caught), step: step.name }, 'close step failed');
        }
      }
    })();
    return closing;
  };
}
