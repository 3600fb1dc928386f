export * from './app-error';
export * from './job-errors';
