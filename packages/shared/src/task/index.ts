export * from './task-hash';
export * from './task-transition';
export * from './claim-and-run';
