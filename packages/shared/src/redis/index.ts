export * from './create-redis';
export * from './clients';
export type { Redis } from 'ioredis';
