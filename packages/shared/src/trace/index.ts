export * from './job-trace';
