/**
 * The two Bull Board instances over the queues (`@bull-board/api` with its express adapter):
 * imported by `bull-board.ts` on the first request under the board's path, so that a processor
 * whose board nobody opens never loads them.
 */
import type { Router } from 'express';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import { BULL_BOARD_PATH } from './board-path';
import type { BullBoardOptions } from './bull-board';

export interface BoardViews {
  /** No action buttons: for principals without `operate`, or everyone with `ADMIN_READONLY`. */
  readOnly: Router;
  /** With action buttons; undefined with `ADMIN_READONLY`. */
  writable: Router | undefined;
}

function createBoard(options: BullBoardOptions, readOnly: boolean): Router {
  const serverAdapter = new ExpressAdapter();
  serverAdapter.setBasePath(BULL_BOARD_PATH);
  createBullBoard({
    queues: options.queues.map((queue) => new BullMQAdapter(queue, { readOnlyMode: readOnly || queue.name === options.deadLetterQueue })),
    serverAdapter,
    options: { uiConfig: { boardTitle: 'Queue processor', miscLinks: [{ text: 'Operator console', url: options.consoleUrl }] } },
  });
  return serverAdapter.getRouter() as Router;
}

/** Builds the boards `options` asks for: the writable one only without `readOnly`. */
export function createBoardViews(options: BullBoardOptions): BoardViews {
  return { readOnly: createBoard(options, true), writable: options.readOnly ? undefined : createBoard(options, false) };
}
