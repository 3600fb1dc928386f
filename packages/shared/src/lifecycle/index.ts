export * from './closer';
export * from './signals';
export * from './run-service';
