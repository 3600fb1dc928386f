export * from './job-trace';
export * from './trace-context';
export * from './tracing';
