export * from './create-redis';
export * from './clients';
export * from './unavailable';
export type { Redis } from 'ioredis';
export * from './flat-command';
export * from './lua-script';
export * from './stream-info';
export * from './lazy-queue';
