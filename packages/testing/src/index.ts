export * from './redis-server';
export * from './redis-stack';
export * from './redis-container';
export * from './helpers';
export * from './event-samples';
export * from './service-contract';
export * from './requirements';
export * from './express-routes';
