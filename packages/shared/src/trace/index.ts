export * from './job-trace';
export * from './trace-context';
