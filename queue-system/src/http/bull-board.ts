import type { Queue } from 'bullmq';
import type { Router } from 'express';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';

/** Base path of Bull Board. */
export const BULL_BOARD_PATH = '/admin/queues';

/** The Bull Board router over `queues` (mount it at `BULL_BOARD_PATH`, behind basic auth). */
export function bullBoardRouter(queues: readonly Queue[]): Router {
  const serverAdapter = new ExpressAdapter();
  serverAdapter.setBasePath(BULL_BOARD_PATH);
  createBullBoard({
    queues: queues.map((queue) => new BullMQAdapter(queue)),
    serverAdapter,
    options: { uiConfig: { boardTitle: 'Queue processor' } },
  });
  return serverAdapter.getRouter() as Router;
}
