/**
 * Bull Board's own UI and API (`@bull-board/*`, with its express adapter and view engine).
 * Loaded by `bullBoardRouter` on the first request under `BULL_BOARD_PATH`, not at start: a
 * process whose board is never opened does not carry it (some 8 MB RSS).
 */
import type { Queue } from 'bullmq';
import type { Router } from 'express';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';

export interface BoardUiOptions {
  queues: readonly Queue[];
  /** Mount path of the board (its pages link to it). */
  basePath: string;
  /** `ADMIN_READONLY`. */
  readOnly: boolean;
  /** `DLQ_QUEUE_NAME`: always read-only on the board. */
  deadLetterQueue: string;
}

/** The board's router over `options.queues`. */
export function boardUiRouter(options: BoardUiOptions): Router {
  const serverAdapter = new ExpressAdapter();
  serverAdapter.setBasePath(options.basePath);
  createBullBoard({
    queues: options.queues.map(
      (queue) => new BullMQAdapter(queue, { readOnlyMode: options.readOnly || queue.name === options.deadLetterQueue }),
    ),
    serverAdapter,
    options: { uiConfig: { boardTitle: 'Queue processor' } },
  });
  return serverAdapter.getRouter() as Router;
}
