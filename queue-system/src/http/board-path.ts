/** Base path of Bull Board. */
export const BULL_BOARD_PATH = '/admin/queues';
