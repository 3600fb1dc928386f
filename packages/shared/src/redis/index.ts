export * from './create-redis';
export * from './clients';
export * from './unavailable';
export type { Cluster, Redis } from 'ioredis';
export * from './flat-command';
export * from './lua-script';
export * from './batch';
export * from './replica-wait';
