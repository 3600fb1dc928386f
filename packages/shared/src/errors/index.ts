export * from './app-error';
export * from './job-errors';
export * from './redact';
