export * from './dead-letter-entry';
export * from './dead-letter-sink';
