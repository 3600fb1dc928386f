export * from './dead-letter-entry';
export * from './dead-letter-sink';
export * from './event-dead-letter';
export * from './job-dead-letter';
export * from './reserved';
export * from './retry-ref';
export * from './job-data-schema';
