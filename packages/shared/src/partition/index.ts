export * from './partition-of';
